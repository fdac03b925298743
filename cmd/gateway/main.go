// Command gateway serves the normalized customer / tenant / license API over
// the four vendor APIs. Run it with -dev to get built-in vendor simulators and
// a development OIDC issuer in one process.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}
