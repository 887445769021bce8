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
// "Looks random" is decided without a word list, by what sets a random draw
// apart from the text a Go binary is made of. A base64 window of 32
// characters must have high Shannon entropy but not the impossible
// all-different kind that tables have; mix upper case, lower case and
// digits; change character class often; not climb through the alphabet,
// repeat at a stride of two (packed two-byte literals) or pair letters with
// their other case (flag tables); and be foreign to the binary: it may hold
// no more of the binary's familiar 3-grams and 4-grams than a random draw
// would, given how much of the n-gram space the binary's own text covers.
// Symbol names, packed identifiers and paths reuse the vocabulary of the
// program around them; a random key does not. Hex windows of 40 digits must
// spread their letters and digits and not climb. About one random 32-byte
// key in a thousand escapes the base64 rule; TestRandomKeysFound measures it.
package binscan
