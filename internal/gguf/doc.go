// Package gguf reads and writes the GGUF model file format (version 3) that
// llama.cpp loads.
//
// It promises three things. [Write] produces a well-formed GGUF v3 file from
// metadata key/values of every scalar and array type and F32 tensors, with
// the 32-byte alignment llama.cpp expects. [TinyLlama] generates a tiny
// llama-architecture model with deterministic random weights, a byte-level
// BPE tokenizer and a ChatML chat template: the same seed gives the same
// bytes, so tests can build their model instead of downloading one. Its
// metadata says plainly that the weights are random. [ReadMetadata] reads
// the few metadata fields the relay needs (architecture, name, context
// length, chat template) from untrusted input: it never allocates more than
// a fixed bound whatever the header claims, and it never reads tensor data.
package gguf
