package openai

import (
	"bytes"
	"encoding/json"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/wire"
)

type toolDef struct {
	Type     *string         `json:"type"`
	Function json.RawMessage `json:"function"`
	Custom   json.RawMessage `json:"custom"`
}

type functionDef struct {
	Name        text            `json:"name"`
	Description text            `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"` // accepted, ignored
}

type namedToolChoice struct {
	Type         *string         `json:"type"`
	Function     json.RawMessage `json:"function"`
	Custom       json.RawMessage `json:"custom"`
	AllowedTools json.RawMessage `json:"allowed_tools"`
}

type toolChoiceFunction struct {
	Name text `json:"name"`
}

// emptySchema stands in for an omitted parameters object: a function that
// takes no arguments.
const emptySchema = `{"type":"object","properties":{}}`

func decodeTools(cr *chatRequest, r *content.Request) error {
	for i, raw := range cr.Tools {
		path := wire.Index("tools", i)
		t, err := decodeTool(raw, path)
		if err != nil {
			return err
		}
		r.Tools = append(r.Tools, t)
	}
	tc, err := decodeToolChoice(cr.ToolChoice)
	if err != nil {
		return err
	}
	r.ToolChoice = tc
	if cr.ParallelToolCalls != nil && !*cr.ParallelToolCalls {
		r.ToolChoice.DisableParallel = true
	}
	return nil
}

func decodeTool(raw json.RawMessage, path string) (content.Tool, error) {
	var td toolDef
	if err := wire.DecodeValue(raw, path, &td); err != nil {
		return content.Tool{}, err
	}
	switch {
	case td.Type == nil:
		return content.Tool{}, reqErr(wire.JoinPath(path, "type"), "is required")
	case *td.Type == "custom":
		return content.Tool{}, reqErr(wire.JoinPath(path, "type"), "custom tools are not supported")
	case *td.Type != "function":
		return content.Tool{}, reqErr(wire.JoinPath(path, "type"), "must be function")
	case !wire.IsNull(td.Custom):
		return content.Tool{}, reqErr(wire.JoinPath(path, "custom"), "unknown field for a function tool")
	case wire.IsNull(td.Function):
		return content.Tool{}, reqErr(wire.JoinPath(path, "function"), "is required")
	}
	fpath := wire.JoinPath(path, "function")
	var fd functionDef
	if err := wire.DecodeValue(td.Function, fpath, &fd); err != nil {
		return content.Tool{}, err
	}
	if len(fd.Name.b) == 0 {
		return content.Tool{}, reqErr(wire.JoinPath(fpath, "name"), "is required")
	}
	schema := []byte(emptySchema)
	if !wire.IsNull(fd.Parameters) {
		if wire.FirstByte(fd.Parameters) != '{' {
			return content.Tool{}, reqErr(wire.JoinPath(fpath, "parameters"), "must be an object")
		}
		// Compact into a buffer of our own: the raw value may hold layout
		// whitespace, and the Text must own its bytes.
		var b bytes.Buffer
		if err := json.Compact(&b, fd.Parameters); err != nil {
			return content.Tool{}, reqErr(wire.JoinPath(fpath, "parameters"), "must be an object")
		}
		schema = b.Bytes()
	}
	return content.Tool{
		Name:        content.Of(fd.Name.b),
		Description: content.Of(fd.Description.b),
		Schema:      content.Of(schema),
	}, nil
}

func decodeToolChoice(raw json.RawMessage) (content.ToolChoice, error) {
	const path = "tool_choice"
	const want = "must be auto, none, required or a named function"
	switch wire.FirstByte(raw) {
	case 0, 'n':
		if !wire.IsNull(raw) {
			return content.ToolChoice{}, reqErr(path, want)
		}
		return content.ToolChoice{}, nil
	case '"':
		var s string
		if err := wire.DecodeValue(raw, path, &s); err != nil {
			return content.ToolChoice{}, err
		}
		switch s {
		case "auto":
			return content.ToolChoice{Mode: content.ToolChoiceAuto}, nil
		case "none":
			return content.ToolChoice{Mode: content.ToolChoiceNone}, nil
		case "required":
			return content.ToolChoice{Mode: content.ToolChoiceAny}, nil
		}
		return content.ToolChoice{}, reqErr(path, want)
	case '{':
	default:
		return content.ToolChoice{}, reqErr(path, want)
	}
	var nc namedToolChoice
	if err := wire.DecodeValue(raw, path, &nc); err != nil {
		return content.ToolChoice{}, err
	}
	switch {
	case nc.Type == nil:
		return content.ToolChoice{}, reqErr(wire.JoinPath(path, "type"), "is required")
	case *nc.Type == "allowed_tools" || *nc.Type == "custom":
		return content.ToolChoice{}, reqErr(wire.JoinPath(path, "type"), "only function tool choices are supported")
	case *nc.Type != "function":
		return content.ToolChoice{}, reqErr(wire.JoinPath(path, "type"), want)
	case !wire.IsNull(nc.Custom) || !wire.IsNull(nc.AllowedTools):
		return content.ToolChoice{}, reqErr(path, "unknown field for a function tool choice")
	case wire.IsNull(nc.Function):
		return content.ToolChoice{}, reqErr(wire.JoinPath(path, "function"), "is required")
	}
	var fn toolChoiceFunction
	if err := wire.DecodeValue(nc.Function, wire.JoinPath(path, "function"), &fn); err != nil {
		return content.ToolChoice{}, err
	}
	if len(fn.Name.b) == 0 {
		return content.ToolChoice{}, reqErr(wire.JoinPath(path, "function.name"), "is required")
	}
	return content.ToolChoice{Mode: content.ToolChoiceTool, Name: content.Of(fn.Name.b)}, nil
}
