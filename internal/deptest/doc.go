// Package deptest holds the test that enforces the project's import rules:
// which packages may see user content, which may open connections or start
// processes, and which are leaves. It has no code of its own.
package deptest
