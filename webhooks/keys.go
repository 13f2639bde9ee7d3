package webhooks

import "github.com/lidorub/lidorub/store"

// Outbox keys, all under the hash tag {P:wh} (P = redis.prefix), so every outbox script
// runs inside one Redis Cluster slot. They hold ids only (conversation id, stage, manager
// id, amounts and reason ids), never personal data: the body is built at delivery time.
//
//	{P:wh}:ep:<endpoint>            hash: disabled "1" (a 410 answer), disabled_at ms, status of the last answer
//	{P:wh}:due:<endpoint>           zset: outbox items to deliver, member webhook-id, score = due ms (a
//	                                claimed item's score is pushed to the end of its lease)
//	{P:wh}:dead:<endpoint>          zset: dead letters, member webhook-id, score = dead-lettered at ms
//	{P:wh}:item:<endpoint>:<id>     hash: one outbox item: c, s, m, x, at (the timeline entry), n (attempts
//	                                made), claim (claim counter: the token of the latest claim), state
//	                                (pending | delivered | dead | dropped), last (last answer)
type keys struct{ tag string }

func newKeys(k store.Keys) keys { return keys{tag: "{" + k.Prefix + ":wh}"} }

func (k keys) ep(ep string) string         { return k.tag + ":ep:" + ep }
func (k keys) due(ep string) string        { return k.tag + ":due:" + ep }
func (k keys) dead(ep string) string       { return k.tag + ":dead:" + ep }
func (k keys) itemPrefix(ep string) string { return k.tag + ":item:" + ep + ":" }
func (k keys) item(ep, id string) string   { return k.itemPrefix(ep) + id }
