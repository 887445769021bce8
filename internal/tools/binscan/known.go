package binscan

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"runtime/debug"
)

// Known returns the strings in data that look like secrets but are part of
// every Go binary, read from the binary itself rather than matched by
// pattern:
//
//   - the module checksums ("h1:…") of its build info, and the VCS revision
//     it was built from (other build settings are not allowed: an -ldflags
//     value may carry exactly the kind of secret this scan looks for);
//   - its Go build ID (an ELF note, or the "Go build ID:" line other formats
//     carry);
//   - the NIST curve parameters crypto/elliptic holds in hex.
//
// Data that is not a Go binary gets only the curve parameters.
func Known(data []byte) [][]byte {
	var known [][]byte
	if bi, err := buildinfo.Read(bytes.NewReader(data)); err == nil {
		add := func(s string) {
			if s != "" {
				known = append(known, []byte(s))
			}
		}
		mods := append([]*debug.Module{&bi.Main}, bi.Deps...)
		for _, m := range mods {
			add(m.Sum)
			if m.Replace != nil {
				add(m.Replace.Sum)
			}
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				add(s.Value)
			}
		}
	}
	if id := goBuildID(data); id != nil {
		known = append(known, id)
	}
	for _, c := range nistCurveHex {
		known = append(known, []byte(c))
	}
	return known
}

// goBuildID finds the Go build ID: in the .note.go.buildid section of an ELF
// file, or after the "\xff Go build ID: \"" marker that the linker writes
// into the text of other formats.
func goBuildID(data []byte) []byte {
	if f, err := elf.NewFile(bytes.NewReader(data)); err == nil {
		defer f.Close()
		if s := f.Section(".note.go.buildid"); s != nil {
			if d, err := s.Data(); err == nil {
				if id := noteDesc(d, f.ByteOrder); id != nil {
					return id
				}
			}
		}
	}
	const marker = "\xff Go build ID: \""
	i := bytes.Index(data, []byte(marker))
	if i < 0 {
		return nil
	}
	rest := data[i+len(marker):]
	j := bytes.IndexByte(rest[:min(len(rest), 200)], '"')
	if j <= 0 {
		return nil
	}
	return rest[:j]
}

// noteDesc returns the descriptor of the ELF note "Go" in d.
func noteDesc(d []byte, bo binary.ByteOrder) []byte {
	if len(d) < 16 {
		return nil
	}
	namesz, descsz := int(bo.Uint32(d[0:])), int(bo.Uint32(d[4:]))
	off := 12 + (namesz+3)&^3
	if namesz != 4 || off+descsz > len(d) || string(d[12:14]) != "Go" {
		return nil
	}
	return d[off : off+descsz]
}

// nistCurveHex are the P-224, P-256, P-384 and P-521 parameters B, Gx and Gy
// exactly as crypto/elliptic writes them (FIPS 186-4, D.1.2). Every binary
// that links crypto/tls carries them; they are public constants, not keys.
var nistCurveHex = []string{
	"b4050a850c04b3abf54132565044b0b7d7bfd8ba270b39432355ffb4",
	"b70e0cbd6bb4bf7f321390b94a03c1d356c21122343280d6115c1d21",
	"bd376388b5f723fb4c22dfe6cd4375a05a07476444d5819985007e34",
	"5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
	"6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
	"4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
	"b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
	"aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
	"3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
	"0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
	"00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66",
	"011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650",
}
