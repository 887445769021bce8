package openai

import (
	"bytes"
	"encoding/json"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/wire"
)

// partSet says which content part types a role accepts.
type partSet uint8

const (
	textOnly       partSet = iota // system, developer, tool
	textAndImages                 // user
	assistantParts                // assistant: text, and refusal parts (ignored)
)

// decodeContent decodes a message's content: a string, an array of parts, or
// null. ok is false when the content was absent or null.
func decodeContent(raw json.RawMessage, path string, allowed partSet) (parts []content.Part, ok bool, err error) {
	switch wire.FirstByte(raw) {
	case 0, 'n':
		if !wire.IsNull(raw) {
			return nil, false, reqErr(path, "must be a string or an array of content parts")
		}
		return nil, false, nil
	case '"':
		var t text
		if err := wire.DecodeValue(raw, path, &t); err != nil {
			return nil, false, err
		}
		return []content.Part{{Kind: content.PartText, Text: content.Of(t.b)}}, true, nil
	case '[':
	default:
		return nil, false, reqErr(path, "must be a string or an array of content parts")
	}
	var raws []json.RawMessage
	if err := wire.DecodeValue(raw, path, &raws); err != nil {
		return nil, false, err
	}
	if len(raws) == 0 {
		return nil, false, reqErr(path, "must not be empty")
	}
	parts = make([]content.Part, 0, len(raws))
	for i, pr := range raws {
		p, keep, err := decodePart(pr, wire.Index(path, i), allowed)
		if err != nil {
			return nil, false, err
		}
		if keep {
			parts = append(parts, p)
		}
	}
	return parts, true, nil
}

// decodePart decodes one content part. keep is false for parts the relay
// accepts but drops (refusal parts of earlier assistant turns).
func decodePart(raw json.RawMessage, path string, allowed partSet) (p content.Part, keep bool, err error) {
	var cp contentPart
	if err := wire.DecodeValue(raw, path, &cp); err != nil {
		return p, false, err
	}
	if cp.Type == nil {
		return p, false, reqErr(wire.JoinPath(path, "type"), "is required")
	}
	typ := *cp.Type
	// The part struct is a union; a field that belongs to another type is as
	// unknown here as any other stray key.
	for _, f := range []struct {
		name    string
		present bool
		owner   string
	}{
		{"text", cp.Text.set, "text"},
		{"image_url", !wire.IsNull(cp.ImageURL), "image_url"},
		{"input_audio", !wire.IsNull(cp.InputAudio), "input_audio"},
		{"file", !wire.IsNull(cp.File), "file"},
		{"refusal", !wire.IsNull(cp.Refusal), "refusal"},
	} {
		if f.present && f.owner != typ {
			return p, false, reqErr(wire.JoinPath(path, f.name), "unknown field for this part type")
		}
	}
	switch typ {
	case "text":
		if !cp.Text.set {
			return p, false, reqErr(wire.JoinPath(path, "text"), "is required")
		}
		return content.Part{Kind: content.PartText, Text: content.Of(cp.Text.b)}, true, nil
	case "image_url":
		if allowed != textAndImages {
			return p, false, reqErr(wire.JoinPath(path, "type"), "image parts are only allowed in user messages")
		}
		return decodeImage(cp.ImageURL, wire.JoinPath(path, "image_url"))
	case "refusal":
		if allowed != assistantParts {
			return p, false, reqErr(wire.JoinPath(path, "type"), "refusal parts are only allowed in assistant messages")
		}
		return p, false, nil
	case "input_audio":
		return p, false, reqErr(wire.JoinPath(path, "type"), "input_audio parts are not supported")
	case "file":
		return p, false, reqErr(wire.JoinPath(path, "type"), "file parts are not supported")
	}
	return p, false, reqErr(wire.JoinPath(path, "type"), "unknown content part type")
}

// decodeImage maps an image_url part: a base64 data URL becomes MediaType
// and Data, an http(s) URL stays a URL.
func decodeImage(raw json.RawMessage, path string) (content.Part, bool, error) {
	if wire.IsNull(raw) {
		return content.Part{}, false, reqErr(path, "is required")
	}
	var iu imageURL
	if err := wire.DecodeValue(raw, path, &iu); err != nil {
		return content.Part{}, false, err
	}
	upath := wire.JoinPath(path, "url")
	u := iu.URL.b
	if len(u) == 0 {
		return content.Part{}, false, reqErr(upath, "is required")
	}
	if hasPrefixFold(u, "data:") {
		mediaType, data, ok := splitDataURL(u)
		if !ok {
			return content.Part{}, false, reqErr(upath, "must be a base64 data URL of an image")
		}
		return content.Part{Kind: content.PartImage, MediaType: content.Of(mediaType), Data: content.Of(data)}, true, nil
	}
	if !hasPrefixFold(u, "https://") && !hasPrefixFold(u, "http://") {
		return content.Part{}, false, reqErr(upath, "must be an http(s) URL or a data URL")
	}
	return content.Part{Kind: content.PartImage, URL: content.Of(u)}, true, nil
}

// splitDataURL splits "data:image/png;base64,AAAA" into a lowercased copy
// of "image/png" and the payload (a subslice of u). Only base64 image data is accepted: that is what
// every backend can take.
func splitDataURL(u []byte) (mediaType, data []byte, ok bool) {
	rest := u[len("data:"):]
	comma := bytes.IndexByte(rest, ',')
	if comma < 0 {
		return nil, nil, false
	}
	meta, payload := rest[:comma], rest[comma+1:]
	params := bytes.Split(meta, []byte(";"))
	mt := params[0]
	if !hasPrefixFold(mt, "image/") || len(mt) == len("image/") || len(payload) == 0 {
		return nil, nil, false
	}
	b64 := false
	for _, p := range params[1:] {
		if bytes.EqualFold(p, []byte("base64")) {
			b64 = true
		}
	}
	if !b64 {
		return nil, nil, false
	}
	return bytes.ToLower(mt), payload, true
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}
