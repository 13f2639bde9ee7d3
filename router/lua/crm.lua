-- Records a CRM record or a CRM status that is not an outcome on a lead's timeline: stage crm
-- with Extra crm (amocrm | bitrix24), id (the CRM record id), status (created, or the CRM's
-- own status or stage id). Written by the CRM connectors (package crm).
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:conv:<id>:tl   KEYS[3] {P}:timeline
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] crm   ARGV[4] record id   ARGV[5] status
-- returns status: ok | notfound
if redis.call('EXISTS', KEYS[1]) == 0 then return 'notfound' end
timeline(KEYS[2], KEYS[3], ARGV[2], 'crm', '', {crm = ARGV[3], id = ARGV[4], status = ARGV[5]}, ARGV[1])
return 'ok'
