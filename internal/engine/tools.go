package engine

import (
	"strings"

	"github.com/inference-relay/relay/internal/content"
)

// Tool is a function the model may call. Schema is the JSON Schema of its
// arguments (an object schema).
type Tool struct {
	Name        content.Text
	Description content.Text
	Schema      content.Text
}

// ToolCall is a call the assistant made in an earlier turn: Args is a JSON
// object.
type ToolCall struct {
	ID   content.Text
	Name content.Text
	Args content.Text
}

// ToolMode says whether and how the model must call a tool.
type ToolMode uint8

const (
	ToolAuto     ToolMode = iota // the model decides: free text or calls
	ToolNone                     // no call: the tools are shown, no grammar
	ToolRequired                 // at least one call, to any tool
	ToolNamed                    // one call to ToolChoice.Name
)

// ToolChoice constrains tool use.
type ToolChoice struct {
	Mode ToolMode
	Name content.Text // for ToolNamed
	// Single allows one call per turn instead of up to maxCalls.
	Single bool
}

// Family is the tool-call format of a model, read from its chat template:
// what its template writes for a call in the history is what the model was
// trained to produce, so it is also what the parser reads and what the
// grammar constrains.
type Family uint8

const (
	// FamilyGeneric is the fallback for templates that show no known
	// format: the tools are described in a system message the engine
	// writes, and a call is {"tool_call": {"name": ..., "arguments": ...}}
	// as the whole reply (llama.cpp's generic format).
	FamilyGeneric Family = iota
	// FamilyHermes is Hermes 2 Pro / Qwen 2.5+ / Qwen 3:
	// <tool_call>{"name": ..., "arguments": ...}</tool_call>, repeated.
	FamilyHermes
	// FamilyLlama3 is Llama 3.1-3.3: the reply is one JSON object
	// {"name": ..., "parameters": ...} (optionally after <|python_tag|>).
	FamilyLlama3
	// FamilyMistral is Mistral's older format:
	// [TOOL_CALLS][{"name": ..., "arguments": ...}, ...].
	FamilyMistral
	// FamilyMistralArgs is Mistral's newer format (Ministral 3, Mistral
	// Small 3.2+, Magistral): [TOOL_CALLS]name[ARGS]{...}, repeated.
	FamilyMistralArgs
)

func (f Family) String() string {
	switch f {
	case FamilyHermes:
		return "hermes"
	case FamilyLlama3:
		return "llama3"
	case FamilyMistral:
		return "mistral"
	case FamilyMistralArgs:
		return "mistral-args"
	default:
		return "generic"
	}
}

// detectFamily reads the tool-call format from a chat template's source.
// A template that never mentions tools gets the generic format (the
// engine describes the tools itself); one that renders tools its own
// unrecognised way gets it too, with the template's own rendering.
func detectFamily(src string) Family {
	switch {
	case strings.Contains(src, "<tool_call>"):
		return FamilyHermes
	case strings.Contains(src, "[TOOL_CALLS]") && strings.Contains(src, "[ARGS]"):
		return FamilyMistralArgs
	case strings.Contains(src, "[TOOL_CALLS]"):
		return FamilyMistral
	case strings.Contains(src, "<|start_header_id|>") && strings.Contains(src, `"parameters": `):
		return FamilyLlama3
	default:
		return FamilyGeneric
	}
}

// templateShowsTools reports whether a template renders the tools it is
// given; the engine describes them itself for one that does not.
func templateShowsTools(src string) bool { return strings.Contains(src, "tools") }
