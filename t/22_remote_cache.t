# Run with PingOneConsentCache redis://..., redis:... or memcache:...
# (t/run-httpd-tests.sh does, against servers it starts on loopback):
# decisions land on the cache server, and when it goes away requests fall
# back to PingOne, with one log line per interval rather than one per
# request.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use HTTP::Tiny;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my $cache = $ENV{PC_CACHE} || '';
my $remote = ($cache =~ /^(?:redis|memcache):/ && $ENV{PC_CACHE_SERVER_PID}) ? 1 : 0;
plan tests => 13, need { 'a redis or memcache cache (PC_CACHE, PC_CACHE_SERVER_PID)' => $remote };
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

# A cache server that hangs (stopped, its connections open) rather than
# dies: redis's and memcached's socache modules would wait on it for days,
# so the module gives every call to it a deadline.  A new server on the
# same port, then SIGSTOP.
my ($kind, $url, $port) = $cache =~ m{^(redis|memcache):(//)?127\.0\.0\.1:(\d+)};
my $start_mark = log_mark();
my $server = fork();
die "fork: $!" unless defined $server;
if (!$server) {
    exec($kind eq 'redis'
         ? ('redis-server', '--port', $port, '--bind', '127.0.0.1', '--save', '',
            '--appendonly', 'no')
         : ('memcached', '-p', $port, '-l', '127.0.0.1', '-U', '0'));
    exit 127;
}
for (1 .. 100) { last if IO::Socket::INET->new("127.0.0.1:$port"); sleep 0.05 }
my $hung = 'e6000000-0000-4000-8000-000000000003';
sim(POST => '/__control/consents', {user_id => $hung, application_id => $PCTest::APP1, scope => ['openid']});
# (the cache modules retry a server they saw fail after a few seconds)
my $src = '';
for (1 .. 75) { $src = as($hung)->{headers}{'x-pc-source'} // ''; last if $src eq 'cache'; sleep 0.2 }
ok t_cmp($src, 'cache', 'a new cache server on the same port is used again');

# (redis://: the purge subscriber is back on the new server first, so that
# it is its silence the subscriber notices below)
if ($url) { for (1 .. 6) { last if log_since($start_mark, qr/PC00032/) =~ /PC00032/ } }
my $stop_mark = log_mark();
kill 'STOP', $server;
if ($url) {
    # The module's own client: this server's local tier answers until its
    # purge subscriber notices the silence (a PING or a command unanswered
    # within the command timeout: about a second) and says so (PC00031);
    # from then on every lookup reads Redis, which times out, so PingOne
    # decides.
    for (1 .. 6) { last if log_since($stop_mark, qr/PC00031/) =~ /PC00031/ }
}
# 10 s: far above what one request may take (three cache calls of 0.5 s at
# most), far below the cache modules' own wait.
my $quick = HTTP::Tiny->new(timeout => 10, keep_alive => 0);
my ($answered, $by_pingone) = (0, 0);
for (1 .. 6) {
    my $res = req('/index.html', vhost => 'pc_cache', headers => {'X-Test-Sub' => $hung}, http => $quick);
    $answered++ if $res->{status} == 200;
    $by_pingone++ if ($res->{headers}{'x-pc-source'} // '') eq 'pingone';
}
kill 'CONT', $server;
ok t_cmp($answered, 6, 'cache server hung: every request answered, none waits on it');
ok t_cmp($by_pingone, 6, 'by asking PingOne');
$src = '';
for (1 .. 75) { $src = as($hung)->{headers}{'x-pc-source'} // ''; last if $src eq 'cache'; sleep 0.2 }
ok t_cmp($src, 'cache', 'cache server resumed: answers come from the cache again');
kill 'TERM', $server;
waitpid($server, 0);
