// Package relay is the library's root package: it converts content to
// strings at its public edge.
package relay

import "github.com/inference-relay/relay/internal/content"

func Text(t content.Text) string { return string(t.Bytes()) }
