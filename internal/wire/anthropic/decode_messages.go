package anthropic

import (
	"encoding/json"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/wire"
)

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

func decodeMessages(raw json.RawMessage) ([]content.Message, error) {
	if wire.IsNull(raw) {
		return nil, &wire.RequestError{Field: "messages", Msg: "required"}
	}
	var items []json.RawMessage
	if err := wire.DecodeValue(raw, "messages", &items); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, &wire.RequestError{Field: "messages", Msg: "must not be empty"}
	}
	out := make([]content.Message, 0, len(items))
	for i, item := range items {
		path := wire.Index("messages", i)
		if wire.FirstByte(item) != '{' {
			return nil, &wire.RequestError{Field: path, Msg: "must be an object"}
		}
		var m message
		if err := wire.DecodeValue(item, path, &m); err != nil {
			return nil, err
		}
		var role content.Role
		switch m.Role {
		case "user":
			role = content.RoleUser
		case "assistant":
			role = content.RoleAssistant
		case "system":
			// An instruction in the middle of the conversation, as Claude
			// Code sends them; kept in place (see content.RoleSystem).
			role = content.RoleSystem
		case "":
			return nil, &wire.RequestError{Field: path + ".role", Msg: "required"}
		default:
			return nil, &wire.RequestError{Field: path + ".role", Msg: "must be user, assistant or system"}
		}
		parts, err := decodeContent(m.Content, path+".content", role)
		if err != nil {
			return nil, err
		}
		out = append(out, content.Message{Role: role, Parts: parts})
	}
	return out, nil
}

// decodeContent accepts a string or an array of content blocks.
func decodeContent(raw json.RawMessage, path string, role content.Role) ([]content.Part, error) {
	if wire.IsNull(raw) {
		return nil, &wire.RequestError{Field: path, Msg: "required"}
	}
	switch wire.FirstByte(raw) {
	case '"':
		var s string
		if err := wire.DecodeValue(raw, path, &s); err != nil {
			return nil, err
		}
		return []content.Part{{Kind: content.PartText, Text: content.FromString(s)}}, nil
	case '[':
		var items []json.RawMessage
		if err := wire.DecodeValue(raw, path, &items); err != nil {
			return nil, err
		}
		parts := make([]content.Part, 0, len(items))
		for i, item := range items {
			var err error
			if parts, err = decodeBlock(parts, item, wire.Index(path, i), role); err != nil {
				return nil, err
			}
		}
		return parts, nil
	default:
		return nil, &wire.RequestError{Field: path, Msg: "must be a string or an array"}
	}
}

// decodeBlock appends the parts of one content block to parts.
func decodeBlock(parts []content.Part, raw json.RawMessage, path string, role content.Role) ([]content.Part, error) {
	typ, err := blockType(raw, path)
	if err != nil {
		return nil, err
	}
	if role == content.RoleSystem && typ != "text" {
		return nil, &wire.RequestError{Field: path + ".type", Msg: "only text blocks are allowed in system messages"}
	}
	user := role == content.RoleUser
	switch typ {
	case "text":
		p, err := decodeText(raw, path)
		return append(parts, p), err
	case "image":
		if !user {
			return nil, &wire.RequestError{Field: path + ".type", Msg: "image blocks are only allowed in user messages"}
		}
		p, err := decodeImage(raw, path)
		return append(parts, p), err
	case "tool_use":
		if user {
			return nil, &wire.RequestError{Field: path + ".type", Msg: "tool_use blocks are only allowed in assistant messages"}
		}
		p, err := decodeToolUse(raw, path)
		return append(parts, p), err
	case "tool_result":
		if !user {
			return nil, &wire.RequestError{Field: path + ".type", Msg: "tool_result blocks are only allowed in user messages"}
		}
		return decodeToolResult(parts, raw, path)
	case "thinking":
		if user {
			return nil, &wire.RequestError{Field: path + ".type", Msg: "thinking blocks are only allowed in assistant messages"}
		}
		p, err := decodeThinking(raw, path)
		return append(parts, p), err
	case "redacted_thinking":
		if user {
			return nil, &wire.RequestError{Field: path + ".type", Msg: "thinking blocks are only allowed in assistant messages"}
		}
		// Encrypted reasoning only the model that wrote it can read: no
		// backend the relay routes to could use it, so it is dropped.
		var b struct {
			Type string `json:"type"`
			Data string `json:"data"`
		}
		return parts, wire.DecodeValue(raw, path, &b)
	case "document":
		return nil, &wire.RequestError{Field: path + ".type", Msg: "document blocks are not supported yet"}
	default:
		return nil, &wire.RequestError{Field: path + ".type", Msg: "unknown content block type"}
	}
}

func decodeText(raw json.RawMessage, path string) (content.Part, error) {
	var b textBlock
	if err := wire.DecodeValue(raw, path, &b); err != nil {
		return content.Part{}, err
	}
	if b.Text == nil {
		return content.Part{}, &wire.RequestError{Field: path + ".text", Msg: "required"}
	}
	if err := checkCacheControl(b.CacheControl, path+".cache_control"); err != nil {
		return content.Part{}, err
	}
	return content.Part{Kind: content.PartText, Text: content.FromString(*b.Text)}, nil
}

type imageBlock struct {
	Type            string          `json:"type"`
	Source          json.RawMessage `json:"source"`
	CacheControl    json.RawMessage `json:"cache_control"`
	Transformations json.RawMessage `json:"transformations"`
}

type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
	URL       string `json:"url"`
}

func decodeImage(raw json.RawMessage, path string) (content.Part, error) {
	var b imageBlock
	if err := wire.DecodeValue(raw, path, &b); err != nil {
		return content.Part{}, err
	}
	if err := checkCacheControl(b.CacheControl, path+".cache_control"); err != nil {
		return content.Part{}, err
	}
	path += ".source"
	if wire.IsNull(b.Source) {
		return content.Part{}, &wire.RequestError{Field: path, Msg: "required"}
	}
	typ, err := blockType(b.Source, path)
	if err != nil {
		return content.Part{}, err
	}
	switch typ {
	case "base64", "url":
	case "file":
		return content.Part{}, &wire.RequestError{Field: path + ".type", Msg: "file sources are not supported yet"}
	default:
		return content.Part{}, &wire.RequestError{Field: path + ".type", Msg: "must be base64 or url"}
	}
	var s imageSource
	if err := wire.DecodeValue(b.Source, path, &s); err != nil {
		return content.Part{}, err
	}
	p := content.Part{Kind: content.PartImage}
	switch typ {
	case "base64":
		if s.URL != "" {
			return content.Part{}, &wire.RequestError{Field: path + ".url", Msg: "not allowed with a base64 source"}
		}
		if s.MediaType == "" {
			return content.Part{}, &wire.RequestError{Field: path + ".media_type", Msg: "required"}
		}
		if s.Data == "" {
			return content.Part{}, &wire.RequestError{Field: path + ".data", Msg: "required"}
		}
		p.MediaType, p.Data = content.FromString(s.MediaType), content.FromString(s.Data)
	case "url":
		if s.MediaType != "" || s.Data != "" {
			return content.Part{}, &wire.RequestError{Field: path, Msg: "a url source takes only url"}
		}
		if s.URL == "" {
			return content.Part{}, &wire.RequestError{Field: path + ".url", Msg: "required"}
		}
		p.URL = content.FromString(s.URL)
	}
	return p, nil
}

type toolUseBlock struct {
	Type         string          `json:"type"`
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Input        json.RawMessage `json:"input"`
	CacheControl json.RawMessage `json:"cache_control"`
	Caller       json.RawMessage `json:"caller"`
	ToolsetName  json.RawMessage `json:"toolset_name"`
}

func decodeToolUse(raw json.RawMessage, path string) (content.Part, error) {
	var b toolUseBlock
	if err := wire.DecodeValue(raw, path, &b); err != nil {
		return content.Part{}, err
	}
	if err := checkCacheControl(b.CacheControl, path+".cache_control"); err != nil {
		return content.Part{}, err
	}
	if b.ID == "" {
		return content.Part{}, &wire.RequestError{Field: path + ".id", Msg: "required"}
	}
	if b.Name == "" {
		return content.Part{}, &wire.RequestError{Field: path + ".name", Msg: "required"}
	}
	args := content.FromString("{}")
	switch {
	case wire.IsNull(b.Input):
		// The official SDKs leave input out when it is empty.
	case !isObject(b.Input):
		return content.Part{}, &wire.RequestError{Field: path + ".input", Msg: "must be an object"}
	default:
		args = content.Of(b.Input)
	}
	return content.Part{Kind: content.PartToolCall, ToolID: content.FromString(b.ID), ToolName: content.FromString(b.Name), Args: args}, nil
}

type toolResultBlock struct {
	Type         string          `json:"type"`
	ToolUseID    string          `json:"tool_use_id"`
	Content      json.RawMessage `json:"content"`
	IsError      bool            `json:"is_error"`
	CacheControl json.RawMessage `json:"cache_control"`
	ToolsetName  json.RawMessage `json:"toolset_name"`
}

// decodeToolResult appends the result part, then one image part for each
// image inside the result: a Part holds one result text, and the image
// stays right behind the result it belongs to.
func decodeToolResult(parts []content.Part, raw json.RawMessage, path string) ([]content.Part, error) {
	var b toolResultBlock
	if err := wire.DecodeValue(raw, path, &b); err != nil {
		return nil, err
	}
	if err := checkCacheControl(b.CacheControl, path+".cache_control"); err != nil {
		return nil, err
	}
	if b.ToolUseID == "" {
		return nil, &wire.RequestError{Field: path + ".tool_use_id", Msg: "required"}
	}
	result := content.Part{Kind: content.PartToolResult, ToolID: content.FromString(b.ToolUseID), IsError: b.IsError}
	path += ".content"
	if wire.IsNull(b.Content) {
		return append(parts, result), nil
	}
	switch wire.FirstByte(b.Content) {
	case '"':
		var s string
		if err := wire.DecodeValue(b.Content, path, &s); err != nil {
			return nil, err
		}
		result.Text = content.FromString(s)
		return append(parts, result), nil
	case '[':
	default:
		return nil, &wire.RequestError{Field: path, Msg: "must be a string or an array"}
	}
	var items []json.RawMessage
	if err := wire.DecodeValue(b.Content, path, &items); err != nil {
		return nil, err
	}
	var text content.Text // the text blocks joined with "\n"
	ntext := 0
	var images []content.Part
	for i, item := range items {
		ipath := wire.Index(path, i)
		typ, err := blockType(item, ipath)
		if err != nil {
			return nil, err
		}
		switch typ {
		case "text":
			p, err := decodeText(item, ipath)
			if err != nil {
				return nil, err
			}
			if ntext > 0 {
				text = text.AppendBytes([]byte{'\n'})
			}
			text = text.Append(p.Text)
			ntext++
		case "image":
			p, err := decodeImage(item, ipath)
			if err != nil {
				return nil, err
			}
			images = append(images, p)
		case "document", "search_result":
			return nil, &wire.RequestError{Field: ipath + ".type", Msg: "this block type is not supported yet"}
		default:
			return nil, &wire.RequestError{Field: ipath + ".type", Msg: "must be text or image"}
		}
	}
	result.Text = text
	parts = append(parts, result)
	return append(parts, images...), nil
}

type thinkingBlock struct {
	Type      string  `json:"type"`
	Thinking  *string `json:"thinking"`
	Signature string  `json:"signature"`
}

func decodeThinking(raw json.RawMessage, path string) (content.Part, error) {
	var b thinkingBlock
	if err := wire.DecodeValue(raw, path, &b); err != nil {
		return content.Part{}, err
	}
	if b.Thinking == nil {
		return content.Part{}, &wire.RequestError{Field: path + ".thinking", Msg: "required"}
	}
	// The signature is optional here: thinking that came from a backend
	// that does not sign it is echoed back by clients with an empty one.
	return content.Part{Kind: content.PartThinking, Text: content.FromString(*b.Thinking), Signature: content.FromString(b.Signature)}, nil
}
