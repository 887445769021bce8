// Package x is a wire codec: it may turn content into strings, but it may
// not log them either.
package x

import (
	"fmt"

	"github.com/inference-relay/relay/internal/content"
)

func Encode(t content.Text) string {
	return string(t.Bytes())
}

func Leak(t content.Text) error {
	s := string(t.Bytes())
	return fmt.Errorf("cannot encode %q", s) // want `content reaches fmt.Errorf`
}
