# The shared decision cache: hits without PingOne calls, deny TTL, stale
# entries during an outage, fail-open, single flight, shared token,
# shared 429 back-off.  The simulator's call counters are the proof.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use HTTP::Tiny;
use Time::HiRes qw(sleep);

plan tests => 30;
sim_reset();

sub as { my ($id, $vhost, %o) = @_; req('/index.html', vhost => $vhost || 'pc_cache', headers => {'X-Test-Sub' => $id}, %o) }

# Fresh entries decide without PingOne.
my $r = as($U{alice});
ok t_cmp($r->{status}, 200, 'alice: first request -> 200');
ok t_cmp($r->{headers}{'x-pc-source'}, 'pingone', 'asked PingOne');
sim(POST => '/__control/reset-counts');
for (1 .. 5) { $r = as($U{alice}) }
ok t_cmp($r->{status}, 200, 'alice: cached -> 200');
ok t_cmp($r->{headers}{'x-pc-source'}, 'cache', 'PINGONE_CONSENT_SOURCE=cache');
ok t_cmp($r->{headers}{'x-pc-consent-id'}, qr/^[0-9a-f-]{36}$/, 'consent ID from the cache');
ok t_cmp(counts()->{consents}, 0, 'five cached requests: no PingOne call');

# Denials are cached too (deny TTL).  A revoked user no other test file
# looks up: bob's entry may come from an earlier file and expire between
# the two requests below on a slow machine.
my $revoked = 'e1000000-0000-4000-8000-0000000000b0';
sim(POST => '/__control/consents', {user_id => $revoked, application_id => $PCTest::APP1,
                                    scope => ['openid'], status => 'REVOKED'});
$r = as($revoked);
ok t_cmp($r->{status}, 403, 'a revoked user: 403');
sim(POST => '/__control/reset-counts');
$r = as($revoked);
ok t_cmp($r->{status}, 403, 'still 403, from the cache');
ok t_cmp(counts()->{consents}, 0, 'cached deny: no PingOne call');

# Within the allow TTL a revoke is not seen (bounded by the TTL; the
# webhook and purge endpoint shorten this).
sim(POST => '/__control/revoke', {user_id => $U{alice}, application_id => $PCTest::APP1});
$r = as($U{alice});
ok t_cmp($r->{status}, 200, 'revoked at PingOne, still within the allow TTL -> 200 (cache)');

# Stale-if-error: TTL 1 s, stale window 60 s.
$r = as($U{carol}, 'pc_stale');
ok t_cmp($r->{status}, 200, 'pc_stale: carol -> 200');
sleep 1.3;
sim_fault(endpoint => 'consents', type => 'status', status => 503, count => -1);
$r = as($U{carol}, 'pc_stale');
ok t_cmp($r->{status}, 200, 'expired entry + PingOne down -> 200 from the stale entry');
ok t_cmp($r->{headers}{'x-pc-source'}, 'stale', 'PINGONE_CONSENT_SOURCE=stale');
$r = as($U{grace}, 'pc_stale');
ok t_cmp($r->{status}, 503, 'no entry at all + PingOne down -> 503');

# Fail-open (documented risk): allowed, marked, logged.
my $m = decision_mark();
$r = as($U{frank}, 'pc_failopen');
ok t_cmp($r->{status}, 200, 'FailMode open + PingOne down -> 200');
ok t_cmp($r->{headers}{'x-pc-source'}, 'fail-open', 'PINGONE_CONSENT_SOURCE=fail-open');
my ($line) = decision_since($m);
ok t_cmp($line, qr/ 200 allow:fail-open /, 'note allow:fail-open');
sim(DELETE => '/__control/faults');

# Single flight: 50 concurrent cold requests for one user -> 1 call.
sim(POST => '/__control/consents', {user_id => 'e1000000-0000-4000-8000-000000000050',
                                    application_id => $PCTest::APP1, scope => ['openid']});
sim(POST => '/__control/reset-counts');
sim_fault(endpoint => 'consents', type => 'latency', latency_ms => 400, count => -1);
my $fails = concurrently(50, sub { as('e1000000-0000-4000-8000-000000000050')->{status} == 200 });
sim(DELETE => '/__control/faults');
ok t_cmp($fails, 0, '50 concurrent cold requests all allowed');
ok t_cmp(counts()->{consents}, 1, 'exactly one consent call for 50 concurrent misses');

# One token for all processes: forget every token, then 30 concurrent
# requests for 30 cold users.
sim(POST => '/__control/expire-tokens');
sim(POST => '/__control/reset-counts');
sim_fault(endpoint => 'token', type => 'latency', latency_ms => 300, count => -1);
$fails = concurrently(30, sub {
    as(sprintf('e2000000-0000-4000-8000-%012d', $_[0]))->{status} == 403;   # unknown users: 403
});
sim(DELETE => '/__control/faults');
my $c = counts();
ok t_cmp($fails, 0, '30 concurrent requests answered (403: unknown users)');
ok t_cmp($c->{token}, 1, 'one token call shared by all processes');
ok t_cmp($c->{consents} >= 30, 1, 'every cold user was looked up (401 retries may add calls)');

# 429 back-off is shared: one 429, then no PingOne call until it ends.
# A user looked up just before the fault has a fresh 10 s deny entry (a
# user cached earlier in this file may have outlived its TTL on a slow
# machine, and a hit does not extend it).
my $pre = 'e3000000-0000-4000-8000-000000000009';
sim(POST => '/__control/reset-counts');
$r = as($pre);
ok t_cmp($r->{status}, 403, 'a user without consent, looked up just before the back-off: 403');
ok t_cmp(counts()->{consents} >= 1, 1, 'that answer came from PingOne (a fresh deny entry)');
sim(POST => '/__control/reset-counts');
sim_fault(endpoint => 'consents', type => 'rate_limit', retry_after => '2', count => 1);
$r = as('e3000000-0000-4000-8000-000000000001');
ok t_cmp($r->{status}, 503, '429 -> 503');
$r = as('e3000000-0000-4000-8000-000000000002');
ok t_cmp($r->{status}, 503, 'another cold user during the back-off -> 503');
ok t_cmp($r->{headers}{'retry-after'}, qr/^[12]$/, 'Retry-After: what is left of the back-off');
ok t_cmp(counts()->{consents}, 1, 'no PingOne call during the back-off');
$r = as($pre);
ok t_cmp($r->{status}, 403, 'cached entries still decide during the back-off');
sleep 2.2;
$r = as('e3000000-0000-4000-8000-000000000002');
ok t_cmp($r->{status}, 403, 'after the back-off PingOne is asked again (unknown user: 403)');
