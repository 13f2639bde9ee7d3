package crm

import (
	"strconv"

	"github.com/lidorub/lidorub/store"
)

// Keys of one connector, all in the router's slot {P} (the timeline stream is there too):
//
//	{P}:crm:<name>:lead:<conv>     string: the CRM record id of a lead (not personal data)
//	{P}:crm:<name>:ext:<id>        string: the lead (conversation id) of a CRM record
//	{P}:crm:<name>:try:<conv>      string: the start (ms) of the attempt creating the record, 0 once
//	                               one failed (claim.lua); deleted when the id is stored (link.lua)
//	{P}:crm:<name>:noted:<conv>    string: the transcript note was added
//	{P}:crm:<name>:seen:<id>       string: the last CRM status applied for a record (inbound dedupe)
//	{P}:crm:<name>:in              stream: inbound webhook items (ids and statuses; group "crm")
//	{P}:crm:<name>:since           string: the reconciliation cursor (ms)
//
// The timeline consumer group is "crm-<name>" on {P}:timeline.
type keys struct {
	k    store.Keys
	name string
}

func (k keys) c(parts ...string) string {
	return k.k.Core(append([]string{"crm", k.name}, parts...)...)
}

func (k keys) lead(conv int64) string  { return k.c("lead", strconv.FormatInt(conv, 10)) }
func (k keys) ext(id string) string    { return k.c("ext", id) }
func (k keys) try(conv int64) string   { return k.c("try", strconv.FormatInt(conv, 10)) }
func (k keys) noted(conv int64) string { return k.c("noted", strconv.FormatInt(conv, 10)) }
func (k keys) seen(id string) string   { return k.c("seen", id) }
func (k keys) in() string              { return k.c("in") }
func (k keys) since() string           { return k.c("since") }
func (k keys) timeline() string        { return k.k.Core("timeline") }
func (k keys) group() string           { return "crm-" + k.name }
