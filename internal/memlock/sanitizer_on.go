//go:build race || asan || msan

package memlock

// sanitizerBuild: the race detector and the sanitizers map terabytes of
// shadow memory; mlockall(MCL_CURRENT) would try to fault all of it in.
const sanitizerBuild = true
