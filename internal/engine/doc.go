// Package engine is the child-process side of the embedded engine: it runs
// llama.cpp in this process through the pure-Go binding yzma (no cgo).
//
// What it promises:
//
//   - The shared libraries are checked before they are loaded: [Load]
//     (through [llamalibs.Open]) copies each library listed in the
//     directory's SHA256SUMS into a sealed memfd, hashes the sealed copy,
//     and has the dynamic loader map that very copy through /proc/self/fd,
//     so no file can be swapped between the check and the load. The
//     manifest itself must be the one this build was made for
//     ([llamalibs.Release]): the binding's struct layouts are those of one
//     llama.cpp release, so other libraries would not just be untrusted but
//     unsafe to call. Finding and verifying the libraries lives in
//     llamalibs, which links no binding: only the engine child, which runs
//     this package, links llama.cpp.
//   - [Session.Generate] renders the conversation, its tools, calls and
//     results with the model's own Jinja chat template (template.go; a
//     documented fallback without one), tokenizes the template's text with
//     special tokens recognised but the user's content without (content
//     cannot forge control tokens such as <|im_end|>; the template's
//     values hold placeholders, never content), decodes, samples with a seeded chain (greedy at
//     temperature 0), and streams the completion's bytes as they come.
//   - With tools ([Session.GenerateTo]), calls are parsed from the output
//     in the model's family's format (toolparse.go) and reach the [Sink]
//     as calls whose arguments stream as generated; a tool_choice that
//     requires a call, or names a tool, constrains decoding with a grammar
//     made from the tools' JSON Schemas, so the call's arguments validate
//     against its schema; auto uses the same grammar lazily, from the
//     family's opening of a call (grammar.go). Schemas past the bounds or
//     with unsupported keywords are an [ErrInvalid] naming the tool's
//     position, never its content.
//   - Stop sequences are cut out and never emitted, even in part; a
//     multi-byte UTF-8 character is never split across two pieces.
//   - Limits are typed: a prompt that cannot fit is [ErrContextLength]
//     (a [*ContextLengthError] with the numbers), and cancelling the context
//     stops generation within one decode step, prompt processing included.
//
// Nothing here logs, and llama.cpp's own logging is silenced. No content
// ever enters an error: errors name files, roles and counts only.
//
// A binary that links this package needs libffi.so.8 at start-up (the
// binding's FFI layer opens it in an init function and panics without it).
package engine
