package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func newCompletionCommand(root *cobra.Command, stdout io.Writer) *cobra.Command {
	// This command replaces cobra's default one, which would also offer
	// PowerShell.
	root.CompletionOptions.DisableDefaultCmd = true
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print the completion script of devd for a shell. Load it with:

  bash:  source <(devd completion bash)
         or save it as ~/.local/share/bash-completion/completions/devd
  zsh:   devd completion zsh > "${fpath[1]}/_devd"   (with compinit enabled)
  fish:  devd completion fish > ~/.config/fish/completions/devd.fish

Service names are completed from the Compose project.`,
		ValidArgs: []cobra.Completion{"bash", "zsh", "fish"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || (args[0] != "bash" && args[0] != "zsh" && args[0] != "fish") {
				return &exitError{code: exitUsage, err: fmt.Errorf("'devd completion' takes one shell: bash, zsh or fish")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(stdout, true)
			case "zsh":
				return root.GenZshCompletion(stdout)
			default:
				return root.GenFishCompletion(stdout, true)
			}
		},
	}
}
