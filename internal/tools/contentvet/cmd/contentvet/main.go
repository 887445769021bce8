package main

import (
	"golang.org/x/tools/go/analysis/analysistest"
	"golang.org/x/tools/go/analysis/singlechecker"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
)

var _ = analysistest.Run
var _ = inspect.Analyzer

func main() { singlechecker.Main(&analysis.Analyzer{}) }
