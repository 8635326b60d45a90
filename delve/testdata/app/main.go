// Command delveapp is a small HTTP server for Delve tests. It responds to
// every request with its message, which a build sets with
// -ldflags "-X main.message=...", so two builds differ in behaviour while
// their source lines stay the same. A request to /exit ends it with status 3.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

var message = "v1"

func handle(w http.ResponseWriter, r *http.Request) {
	reply := fmt.Sprintf("{\"message\":%q}\n", message) // breakpoint line
	fmt.Fprint(w, reply)
}

func main() {
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	http.HandleFunc("/", handle)
	http.HandleFunc("/exit", func(http.ResponseWriter, *http.Request) { os.Exit(3) })
	log.Fatal(http.ListenAndServe(addr, nil))
}
