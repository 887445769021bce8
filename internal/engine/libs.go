package engine

import "github.com/inference-relay/relay/internal/engine/llamalibs"

// ErrLibs is wrapped by every error that refuses a library directory; it
// is [llamalibs.ErrRefused], so the relay process can test for it without
// linking this package.
var ErrLibs = llamalibs.ErrRefused

func refuse(format string, args ...any) error { return llamalibs.Refuse(format, args...) }
