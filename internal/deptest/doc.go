// Package deptest holds the tests that enforce the project's import rules:
// which packages may see user content, which may open connections or start
// processes, which are leaves, what the HTTP front may link, and where each
// third-party module may be imported and linked (thirdParty, with the
// reason beside each). It has no code of its own.
package deptest
