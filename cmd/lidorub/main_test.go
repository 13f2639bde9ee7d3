package main

import (
	"os"
	"testing"

	"github.com/lidorub/lidorub/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }
