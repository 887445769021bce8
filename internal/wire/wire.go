// Package wire holds what the two API codecs (wire/openai, wire/anthropic)
// share: the request-error type their strict decoders return.
package wire

// RequestError is a client mistake found while decoding a request. Field is
// the JSON path at fault ("messages[2].content"); Msg is text the relay wrote
// itself and never echoes a value the client sent.
type RequestError struct {
	Field string
	Msg   string
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}
