// Package route is outside the wire codecs: every case here must be
// reported, except those in pass.go.
package route

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"strings"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logging"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
)

func direct(t content.Text) {
	fmt.Println(t) // want `content reaches fmt.Println`
}

func sprintfBytes(t content.Text) string {
	return fmt.Sprintf("%s", t.Bytes()) // want `content reaches fmt.Sprintf`
}

func slogAttr(t content.Text) slog.Attr {
	return slog.String("prompt", string(t.Bytes())) // want `content reaches slog.String` `converted to string`
}

func errorsNew(t content.Text) error {
	b := t.Bytes()
	return errors.New(string(b)) // want `content reaches errors.New` `converted to string`
}

func twoAssignments(t content.Text) {
	b := t.Bytes()
	c := b
	var d []byte
	d = c[1:]
	log.Printf("%x", d) // want `content reaches log.Printf`
}

func auditCall(t content.Text) {
	s := string(t.Bytes())     // want `converted to string`
	audit.Record("request", s) // want `content reaches audit.Record`
	var l audit.Log
	l.Write("request", s)   // want `content reaches audit.Log.Write`
	logging.Debugf("%s", s) // want `content reaches logging.Debugf`
}

func conversionAlone(t content.Text) int {
	s := string(t.Bytes()) // want `converted to string`
	return len(s)
}

func loggerMethod(logger *slog.Logger, m content.Message, req *content.Request) {
	logger.Info("turn", "message", m) // want `content reaches slog.Logger.Info`
	slog.Any("request", req)          // want `content reaches slog.Any`
}

func metrics(vec *prometheus.CounterVec, p content.Part) {
	vec.WithLabelValues(string(p.Text.Bytes())) // want `content reaches prometheus.CounterVec.WithLabelValues` `converted to string`
	name := p.Args.Bytes()
	vec.With(prometheus.Labels{"tool": string(name)}) // want `content reaches prometheus.CounterVec.With` `converted to string`
}

func tracing(d content.Delta) attribute.KeyValue {
	b := d.Text.Bytes()
	return attribute.String("delta", strings.ToUpper(string(b))) // want `content reaches attribute.String` `converted to string`
}

func clones(t content.Text) {
	c := bytes.Clone(t.Bytes())
	fmt.Print(c) // want `content reaches fmt.Print`
	var s strings.Builder
	s.Write(t.Bytes())
	fmt.Print(s.String()) // want `content reaches fmt.Print`
}

func copyDestination(t content.Text) {
	buf := make([]byte, t.Len())
	copy(buf, t.Bytes())
	fmt.Printf("%q\n", buf) // want `content reaches fmt.Printf`
}

func unmarshal(t content.Text) error {
	var v map[string]any
	if err := json.Unmarshal(t.Bytes(), &v); err != nil {
		return err
	}
	return fmt.Errorf("bad arguments: %v", v["name"]) // want `content reaches fmt.Errorf`
}

func fixedPoint(t content.Text) {
	var a, b []byte
	for i := 0; i < 2; i++ {
		fmt.Println(len(a), a) // want `content reaches fmt.Println`
		a = b
		b = t.Bytes()
	}
}

func closure(t content.Text) func() {
	b := t.Bytes()
	return func() {
		fmt.Println(b[0]) // want `content reaches fmt.Println`
	}
}

func variadic(t content.Text) {
	args := []any{"prompt", t.Bytes()}
	fmt.Println(args...) // want `content reaches fmt.Println`
}

func rangeOver(t content.Text) {
	for _, r := range t.Bytes() {
		if r == '{' {
			panic(r) // want `content reaches panic`
		}
	}
}

func joined(t content.Text, err error) error {
	return errors.Join(err, errors.New(t.String()+string(t.Clone().Bytes()))) // want `content reaches errors.New` `converted to string`
}

func missingReason(t content.Text) {
	//contentvet:ok // want `contentvet:ok needs a reason`
	fmt.Println(t.Bytes()) // want `content reaches fmt.Println`
}

func stale() {
	//contentvet:ok nothing here is content // want `contentvet:ok silences nothing`
	fmt.Println("hello")
}
