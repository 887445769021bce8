// Package custom converts content to string; TestAllowStringFlag allows it
// with -allow-string.
package custom

import "github.com/inference-relay/relay/internal/content"

func Text(t content.Text) string { return string(t.Bytes()) }
