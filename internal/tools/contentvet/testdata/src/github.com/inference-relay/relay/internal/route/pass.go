package route

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/inference-relay/relay/internal/content"
)

// Nothing in this file may be reported.

func lengths(t content.Text, p content.Part, d content.Delta, req *content.Request) {
	fmt.Println(len(t.Bytes()), t.Len(), t.IsEmpty())
	fmt.Println(p.Kind, p.IsError, d.Index, len(req.Messages), req.Messages[0].Role)
	slog.Int("parts", len(req.Messages[0].Parts))
}

func redaction(t content.Text) {
	fmt.Println(content.Redacted)
	slog.String("text", content.Redacted)
	fmt.Println(t.String()) // the redaction marker, not the content
}

func metadata(t content.Text) error {
	if bytes.HasPrefix(t.Bytes(), []byte("{")) {
		return errors.New("tool arguments must be a JSON object")
	}
	n := bytes.Count(t.Bytes(), []byte("\n"))
	return fmt.Errorf("%d lines", n)
}

func hashed(t content.Text) {
	sum := sha256.Sum256(t.Bytes())
	slog.String("prompt_sha256", hex.EncodeToString(sum[:]))
}

func silenced(t content.Text) {
	fmt.Println(t.Bytes()) //contentvet:ok debugging aid behind a build tag in production
	//contentvet:ok the line below prints a test fixture, not user content
	fmt.Println(string(t.Bytes()))
}

func compare(t content.Text, want []byte) bool {
	// Comparing bytes needs no string.
	return bytes.Equal(t.Bytes(), want) && strings.EqualFold("a", "A")
}

func writerIsNotContent(t content.Text, w *strings.Reader) {
	fmt.Println(w.Len())
}

func comparison(t content.Text) bool {
	// A conversion that is only compared makes no string.
	return string(t.Bytes()) == "null" || (string(t.Clone().Bytes()) != "")
}

func responseWriter(w http.ResponseWriter, t content.Text) {
	// Writing content to a writer that cannot give it back does not make
	// the writer content.
	w.Write(t.Bytes())
	fmt.Fprintf(w, "\n")
}
