package deps

import (
	_ "github.com/compose-spec/compose-go/v2/cli"
	_ "github.com/docker/docker/client"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/moby/patternmatcher"
	_ "github.com/spf13/cobra"
	_ "github.com/gorilla/websocket"
)
