# Run with PingOneConsentCache redis:... or memcache:... (t/run-httpd-tests.sh
# does, against servers it starts on loopback): decisions land on the
# cache server, and when it goes away requests fall back to PingOne, with
# one log line per interval rather than one per request.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;

my $cache = $ENV{PC_CACHE} || '';
my $remote = ($cache =~ /^(?:redis|memcache):/ && $ENV{PC_CACHE_SERVER_PID}) ? 1 : 0;
plan tests => 9, need { 'a redis or memcache cache (PC_CACHE, PC_CACHE_SERVER_PID)' => $remote };
sim_reset();

sub as { my ($id) = @_; req('/index.html', vhost => 'pc_cache', headers => {'X-Test-Sub' => $id}) }
my $who = 'e6000000-0000-4000-8000-000000000001';
sim(POST => '/__control/consents', {user_id => $who, application_id => $PCTest::APP1, scope => ['openid']});

my $r = as($who);
ok t_cmp($r->{headers}{'x-pc-source'}, 'pingone', "first request asks PingOne ($cache)");
$r = as($who);
ok t_cmp($r->{headers}{'x-pc-source'}, 'cache', 'second is answered by the cache server');

# The cache server goes away.
kill 'TERM', $ENV{PC_CACHE_SERVER_PID};
sleep 1;
sim(POST => '/__control/reset-counts');
my $lm = log_mark();
my $ok = 0;
for (1 .. 10) {
    $r = as($who);
    $ok++ if $r->{status} == 200;
}
ok t_cmp($ok, 10, 'cache server down: requests still answered');
ok t_cmp($r->{headers}{'x-pc-source'}, 'pingone', 'by asking PingOne');
ok t_cmp(counts()->{consents}, 10, 'one PingOne call per request while the cache is down');
my $log = log_since($lm, qr/PC00022/);
my $lines = () = $log =~ /PC00022/g;
ok t_cmp($lines, 1, 'cache failure logged once per interval, not per request');
$r = as($U{bob});
ok t_cmp($r->{status}, 403, 'denials still work without the cache');

# Single flight does not need the cache: the leader hands its answer to
# the requests waiting for it.
my $cold = 'e6000000-0000-4000-8000-000000000002';
sim(POST => '/__control/consents', {user_id => $cold, application_id => $PCTest::APP1, scope => ['openid']});
sim(POST => '/__control/reset-counts');
sim_fault(endpoint => 'consents', type => 'latency', latency_ms => 800, count => -1);
my $fails = concurrently(20, sub { as($cold)->{status} == 200 });
sim(DELETE => '/__control/faults');
ok t_cmp($fails, 0, 'cache down: 20 concurrent cold requests allowed');
ok t_cmp(counts()->{consents}, 1, 'cache down: still one PingOne call for all of them');
