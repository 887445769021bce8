package memlock

import "golang.org/x/sys/unix"

// mapRegion maps size bytes (rounded up to whole pages) between two
// PROT_NONE guard pages, then locks and advises the inner region. Only the
// mapping itself is a hard failure; each protection is reported.
func mapRegion(size int) (mapping, error) {
	page := unix.Getpagesize()
	inner := (size + page - 1) / page * page
	whole, err := unix.Mmap(-1, 0, inner+2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return mapping{}, errClass(err)
	}
	m := mapping{whole: whole, region: whole[page : page+size : page+size]}
	full := whole[page : page+inner]
	errLo := unix.Mprotect(whole[:page], unix.PROT_NONE)
	errHi := unix.Mprotect(whole[page+inner:], unix.PROT_NONE)
	m.guard = errLo == nil && errHi == nil
	// Advise before locking: a refused mlock must not cost the others.
	m.dontDumpErr = errClass(unix.Madvise(full, unix.MADV_DONTDUMP))
	m.dontDump = m.dontDumpErr == nil
	m.wipeErr = errClass(unix.Madvise(full, unix.MADV_WIPEONFORK))
	m.wipe = m.wipeErr == nil
	m.lockErr = errClass(unix.Mlock(full))
	m.locked = m.lockErr == nil
	return m, nil
}

// unmapRegion releases the mapping. The caller has zeroed the region.
func unmapRegion(m mapping) error {
	if m.locked {
		_ = unix.Munlock(m.whole)
	}
	return errClass(unix.Munmap(m.whole))
}
