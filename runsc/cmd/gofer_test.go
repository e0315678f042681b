package cmd

import (
	"context"
	"flag"
	"reflect"
	"testing"

	"github.com/google/subcommands"
)

func TestGoferParseFDs(t *testing.T) {
	if got, err := goferParseFDs("3, 4,5"); err != nil || !reflect.DeepEqual(got, []int{3, 4, 5}) {
		t.Errorf("goferParseFDs = %v, %v", got, err)
	}
	for _, bad := range []string{"", "3,", "a", "3,-1"} {
		if _, err := goferParseFDs(bad); err == nil {
			t.Errorf("goferParseFDs(%q) accepted", bad)
		}
	}
}

func TestGoferFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--bundle", "/b"},
		{"--bundle", "/b", "--spec-fd", "3"},
		{"--bundle", "/b", "--spec-fd", "3", "--io-fds", "x"},
		{"--bundle", "/b", "--spec-fd", "3", "--io-fds", "4", "extra"},
	} {
		g := &Gofer{}
		fs := flag.NewFlagSet("gofer", flag.ContinueOnError)
		g.SetFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if st := g.Execute(context.Background(), fs); st != subcommands.ExitFailure {
			t.Errorf("Execute(%q) = %v, want failure", args, st)
		}
	}
	if (&Gofer{}).Name() != "gofer" {
		t.Error("wrong name")
	}
}
