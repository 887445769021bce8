//go:build !linux

package measure

import "errors"

// Listeners is only measured on Linux.
func Listeners() ([]Socket, error) { return nil, errors.ErrUnsupported }

// Connections is only measured on Linux.
func Connections() ([]Socket, error) { return nil, errors.ErrUnsupported }
