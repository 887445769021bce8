// Command contentvet runs the contentvet analyzer: it reports user content
// reaching logs, errors, metrics or traces, and content bytes converted to
// string outside the wire codecs.
//
//	go run ./internal/tools/contentvet/cmd/contentvet ./...
//
// See package contentvet for the rules and the //contentvet:ok directive.
package main

import (
	"github.com/inference-relay/relay/internal/tools/contentvet"
	"golang.org/x/tools/go/analysis/singlechecker"
)

func main() { singlechecker.Main(contentvet.Analyzer) }
