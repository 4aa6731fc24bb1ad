// Package webhook is boltfetch's HTTP intake: it receives Paradime's Bolt
// webhooks, authenticates the sender, refuses junk early and cheaply, and
// hands each completed run to a durable queue (package inbox), answering only
// after the queue has committed the delivery. It also serves the operator's
// view of that queue: run status, probes, Prometheus metrics and, optionally,
// River's web UI behind HTTP Basic auth.
//
// The package sits above inbox in the data flow and knows it only through the
// small Queue interface, which *inbox.Inbox satisfies. It never imports
// fetcher: the one thing it needs from a payload (its run id, and whether it
// is a bolt.run.started payload) comes through the injected Config.Parse, which
// cmd wires to fetcher's payload decoder.
//
// Wiring, in cmd:
//
//	metrics, _ := webhook.NewMetrics(registry)
//	h, err := webhook.New(webhook.Config{Queue: ib, Parse: parse, Tokens: tokens, Metrics: metrics, Logger: log})
//	srv := h.NewServer(":8080")
//	go srv.ListenAndServe() // or h.Serve(ctx, listener), which drains and shuts down when ctx ends
//	...
//	h.Drain() // on SIGTERM: /readyz fails at once, new deliveries get 503
//
// Answers of POST /webhooks/paradime (JSON bodies):
//
//	202 {"run_id":N,"state":"queued","duplicate":false}  a new completed run, committed
//	200 {"run_id":N,"state":S,"duplicate":true}          a run the queue already knows, with its state
//	202 {"state":"ignored"}                               a bolt.run.started payload (counted only)
//	400 {"error":"…"}                                     not JSON, or not a Bolt payload
//	401                                                   no token, or a wrong one
//	405                                                   not POST (with Allow)
//	413                                                   body over the maximum payload size
//	415                                                   a form encoding
//	503                                                   the queue is unavailable, or the server is draining
package webhook
