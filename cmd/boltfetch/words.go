package main

import (
	"errors"
	"fmt"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/fetcher"
)

// settingWords names each client setting as a user of this CLI sets it.
var settingWords = map[client.Setting]struct{ flag, env string }{
	client.SettingEndpoint:     {"--api-endpoint", "PARADIME_API_ENDPOINT"},
	client.SettingAPIKey:       {"--api-key", "PARADIME_API_KEY"},
	client.SettingAPISecret:    {"--api-secret", "PARADIME_API_SECRET"},
	client.SettingWorkspaceUID: {"--workspace-uid", "PARADIME_WORKSPACE_UID"},
	client.SettingAllowHosts:   {"--allow-host", ""},
}

// optionFlags names each fetcher option as a user of this CLI sets it.
// Options no flag sets (the client, a run folder) keep the fetcher's words.
var optionFlags = map[fetcher.Option]string{
	fetcher.OptionArchive:         "--out",
	fetcher.OptionArtifacts:       "--artifacts",
	fetcher.OptionLogs:            "--logs",
	fetcher.OptionConcurrency:     "--concurrency",
	fetcher.OptionMaxArtifactSize: "--max-artifact-size",
	fetcher.OptionCompression:     "--compress",
}

// word rewords the libraries' typed errors for this CLI: the libraries
// state facts (a setting, a host, a limit); only here are they tied to the
// flags and environment variables that change them. Errors it does not know
// pass unchanged; the cause stays reachable with errors.As.
func word(err error) error {
	if err == nil {
		return nil
	}
	var (
		ce  *client.ConfigError
		hna *client.HostNotAllowedError
		btl *client.BodyTooLargeError
		ae  *client.AuthError
		oe  *fetcher.OptionsError
		pe  *fetcher.PayloadError
	)
	switch {
	case errors.As(err, &ce):
		w := settingWords[ce.Setting]
		switch {
		case ce.Setting == client.SettingAllowHosts:
			if ce.Value == "" {
				return fmt.Errorf("--allow-host: an empty host (%w)", err)
			}
			return &worded{fmt.Sprintf("--allow-host %q: %s", ce.Value, ce.Reason), err}
		case ce.Missing && ce.Setting == client.SettingAPIKey:
			return &worded{"no API key: set PARADIME_API_KEY or --api-key, or use a prdm_wsp_/prdm_cmp_ token as the secret", err}
		case ce.Missing && ce.Setting == client.SettingWorkspaceUID:
			return &worded{"a company token (prdm_cmp_) needs a workspace: set PARADIME_WORKSPACE_UID or --workspace-uid", err}
		case ce.Missing:
			return &worded{fmt.Sprintf("no %s: set %s or %s", ce.Setting, w.env, w.flag), err}
		}
		return &worded{fmt.Sprintf("%s (or %s): %s", w.flag, w.env, err), err}
	case errors.As(err, &hna) && hna.Allowable:
		return &worded{fmt.Sprintf("%s (pass --allow-host %s to trust it); the --api-endpoint (PARADIME_API_ENDPOINT) host and *.paradime.io are always allowed", err, hna.Host), err}
	case errors.As(err, &pe) && pe.Limit > 0:
		return &worded{fmt.Sprintf("payload: larger than the --max-payload-size cap of %d bytes (raise it if this payload is real)", pe.Limit), err}
	case errors.As(err, &oe) && optionFlags[oe.Option] != "":
		msg := optionFlags[oe.Option]
		if oe.Value != "" {
			msg += fmt.Sprintf(" %q", oe.Value)
		}
		msg += ": " + oe.Reason
		if oe.Err != nil {
			msg += ": " + oe.Err.Error()
		}
		return &worded{msg, err}
	case errors.As(err, &btl):
		return &worded{fmt.Sprintf("%s (raise --max-response-size if the logs are really that large)", err), err}
	case errors.As(err, &ae):
		return &worded{fmt.Sprintf("%s (credentials: --api-key/--api-secret or PARADIME_API_KEY/PARADIME_API_SECRET)", err), err}
	}
	return err
}

// worded is an error reworded for the CLI, its cause kept for errors.As.
type worded struct {
	msg string
	err error
}

func (w *worded) Error() string { return w.msg }
func (w *worded) Unwrap() error { return w.err }
