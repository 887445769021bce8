// Package engine is a stand-in engine: it may turn content into strings.
package engine

import "github.com/inference-relay/relay/internal/content"

func Echo(t content.Text) string { return "echo: " + string(t.Bytes()) }
