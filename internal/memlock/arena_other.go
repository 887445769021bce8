//go:build !linux

package memlock

// mapRegion uses the Go heap where no mmap/mlock support is wired in: the
// arena still zeroes slots, but reports every protection as unsupported.
func mapRegion(size int) (mapping, error) {
	b := make([]byte, size)
	return mapping{
		whole: b, region: b,
		lockErr: ErrUnsupported, dontDumpErr: ErrUnsupported, wipeErr: ErrUnsupported,
	}, nil
}

func unmapRegion(mapping) error { return nil }
