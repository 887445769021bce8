//go:build !race && !asan && !msan

package memlock

const sanitizerBuild = false
