// Package binscan looks for secrets compiled into a binary (SPEC C5): API
// keys, tokens, private keys and random-looking key material that a build
// could have picked up from a constant, an -ldflags -X or a stray test
// fixture. CI runs it on the relay binary it ships; cmd/binscan is the
// command.
//
// What it promises:
//
//   - It reports known key shapes (Anthropic and OpenAI keys, AWS access key
//     IDs, GitHub and Slack tokens, Google API keys, PEM private keys, JWTs),
//     runs of at least 40 hex digits that look random, and base64/base64url
//     runs of at least 32 characters that look random.
//   - It does not rely on NUL-terminated strings: Go packs string literals
//     back to back with no separator, so every rule works on runs of
//     characters wherever they sit, and a secret glued to its neighbours is
//     still found.
//   - A finding never holds the candidate itself: only its offset, its rule,
//     its length, its first four bytes and its SHA-256 (which is what an
//     allowlist file lists).
//   - What a Go binary legitimately holds is allowed precisely, not by broad
//     patterns: the module checksums and VCS revision read from the binary's
//     own build info, its Go build ID, the compiler's hashed generic shape
//     names ("go.shape." and 64 hex digits), and the NIST curve parameters
//     that crypto/elliptic writes in hex.
//
// "Looks random" is decided without a word list. A base64 window must have
// high Shannon entropy, mix upper case, lower case and digits, not climb
// through the alphabet, change character class often, and be foreign to the
// binary: most of its 4-grams must occur nowhere else in the binary's own
// text. Symbol names, packed identifiers and paths reuse the vocabulary of the
// program around them; a random key does not.
package binscan
