# A farm on Redis Sentinel (PingOneConsentCache redis-sentinel://): a
# master, a replica and three sentinels (quorum 2, master down after 1 s),
# all with passwords, started by this test on loopback; two web servers.
# The master is killed while both servers are under load:
#   - no request is allowed without a consent, before, during or after;
#   - every request is decided (PingOne answers while Redis cannot);
#   - caching resumes once Sentinel has promoted the replica, and a purge
#     on one server reaches the other through the new master.
# Run once, in the redis:// pass of t/run-httpd-tests.sh.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use PCRedis qw(start_redis start_sentinel stop_proc redis wait_for);
use HTTP::Tiny;
use Time::HiRes qw(time sleep);

my $cache = $ENV{PC_CACHE} || '';
my $have = -x '/usr/bin/redis-sentinel' || -x '/usr/sbin/redis-sentinel' ||
           !system('sh', '-c', 'command -v redis-sentinel >/dev/null');
plan tests => 14, need {
    'the redis:// pass (PC_CACHE=redis://...)' => ($cache =~ m{^redis://} ? 1 : 0),
    'redis-sentinel (Debian package redis-sentinel)' => ($have ? 1 : 0) };
sim_reset();
my $t0 = time;

my $APP = $PCTest::APP1;
my $dir = serverroot() . '/logs/sentinel26';
mkdir $dir;
my ($PW, $SPW, $MASTER) = ('master-pw-0123456789', 'sentinel-pw-0123456789', 'pcmaster');

my $m = start_redis(dir => $dir, password => $PW);
my $r = start_redis(dir => $dir, password => $PW, replicaof => $m->{port});
ok t_cmp(wait_for(20, sub {
    (redis($r->{port}, password => $PW)->cmd('INFO', 'replication') // '') =~ /master_link_status:up/ }) ? 1 : 0,
    1, 'the replica follows the master');
my @s = map { start_sentinel(dir => $dir, master => $MASTER, master_port => $m->{port},
                             password => $PW, sentinel_password => $SPW) } 1 .. 3;
sub sentinel_view {
    my $info = redis($s[0]{port}, password => $SPW)->cmd('SENTINEL', 'MASTER', $MASTER);
    return ref $info eq 'ARRAY' ? {@$info} : {};
}
ok t_cmp(wait_for(30, sub { my $v = sentinel_view();
                            ($v->{'num-other-sentinels'} // 0) >= 2 && ($v->{'num-slaves'} // 0) >= 1 }) ? 1 : 0,
         1, 'the sentinels know each other and the replica');

open my $kf, '>', "$dir/cache.key" or die $!;
print $kf join('', map { sprintf '%02x', int rand 256 } 1 .. 32), "\n";
close $kf;
my $url = 'redis-sentinel://' . join(',', map { "127.0.0.1:$_->{port}" } @s) . "/$MASTER";
my $conf = <<"EOC";
PingOneConsentCache $url
PingOneConsentCacheAuth $PW
PingOneConsentCacheSentinelAuth $SPW
PingOneConsentCacheKey file:$dir/cache.key
PingOneConsentCacheTTL 60 10
PingOneRateLimit 5000 5000
PingOneTimeout 2000 500
@{[gated_location('/index.html', $APP)]}
<Location /pingone/webhook>
    SetHandler pingone-consent-webhook
    PingOneWebhookAuthorization "Bearer hook-secret-0123456789"
    Require all granted
</Location>
EOC
my %S = map { $_ => extra_server(name => "sentinel26$_", conf => $conf) } qw(x y);
my $numsub = sub { (redis($_[0], password => $PW)->cmd('PUBSUB', 'NUMSUB', 'pc:purge:0') // [0, 0])->[1] };
ok t_cmp(wait_for(20, sub { $numsub->($m->{port}) == 2 }) ? 2 : 0, 2,
         'both servers subscribed at the master');

# 20 users with a consent, 20 without.
sub user { sprintf 'f2600000-0000-4000-8000-%012d', $_[0] }
my @yes = map { user($_) } 1 .. 20;
my @no = map { user($_) } 101 .. 120;
sim(POST => '/__control/consents', {user_id => $_, application_id => $APP, scope => ['openid']}) for @yes;
for my $u (@yes, @no) { $S{$_}->{get}->('/index.html', $u) for qw(x y) }
my $warm = join ' ', map { $S{y}->{get}->('/index.html', $_)->{headers}{'x-pc-source'} // '-' } @yes[0 .. 2];
ok t_cmp($warm, 'cache cache cache', 'decisions cached before the failover');

# Load: two clients per server, each looping over every user until told
# to stop, writing "user status source" per request.
my $stop = "$dir/stop";
my @load;
for my $srv (qw(x y x y)) {
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
        open my $out, '>', "$dir/load.$$" or POSIX::_exit(1);
        my @u = (@yes, @no);
        until (-e $stop) {
            my $u = $u[int rand @u];
            my $res = $http->get("http://127.0.0.1:$S{$srv}{port}/index.html", {headers => {'X-Test-Sub' => $u}});
            printf $out "%s %s %s %.3f\n", $u, $res->{status}, $res->{headers}{'x-pc-source'} // '-', time;
        }
        close $out;
        require POSIX;
        POSIX::_exit(0);
    }
    push @load, $pid;
}
sleep 1;

# Kill the master.
my $killed = time;
stop_proc($m->{pid});
my $promoted = wait_for(40, sub {
    my $a = redis($s[0]{port}, password => $SPW)->cmd('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', $MASTER);
    ref $a eq 'ARRAY' && $a->[1] == $r->{port} ? time : 0;
});
ok t_cmp($promoted ? 1 : 0, 1, 'Sentinel promoted the replica');
printf "# promoted %.1f s after the master was killed\n", ($promoted || time) - $killed;

# Caching resumes: a user cached after the promotion is a hit.
my $fresh = user(200);
sim(POST => '/__control/consents', {user_id => $fresh, application_id => $APP, scope => ['openid']});
my $resumed = wait_for(40, sub {
    $S{x}->{get}->('/index.html', $fresh);
    ($S{y}->{get}->('/index.html', $fresh)->{headers}{'x-pc-source'} // '') eq 'cache' ? time : 0;
});
ok t_cmp($resumed ? 1 : 0, 1, 'caching resumes after the promotion');
printf "# cache hits again %.1f s after the master was killed\n", ($resumed || time) - $killed;
ok t_cmp(wait_for(20, sub { $numsub->($r->{port}) == 2 }) ? 2 : 0, 2,
         'both servers subscribed at the new master');
sleep 1;
open my $sf, '>', $stop or die $!;
close $sf;
waitpid($_, 0) for @load;

my (%count, $wrong, $undecided, $during);
my %no = map { $_ => 1 } @no;
for my $f (glob "$dir/load.*") {
    open my $fh, '<', $f or die $!;
    while (<$fh>) {
        my ($u, $st, $src, $t) = split;
        $count{$st}++;
        $wrong++ if $no{$u} && $st == 200;
        $undecided++ if $st != 200 && $st != 403;
        $during++ if $t > $killed && $t < ($resumed || time);
    }
}
my $total = 0;
$total += $_ for values %count;
printf "# %d requests under load (%s), %d while Redis had no master\n", $total,
    join(', ', map { "$_: $count{$_}" } sort keys %count), $during // 0;
ok t_cmp($total > 0 && ($during // 0) > 0 ? 1 : 0, 1, 'requests were served during the failover');
ok t_cmp($wrong // 0, 0, 'no user without a consent was ever allowed');
ok t_cmp($undecided // 0, 0, 'every request was decided (200 or 403)');

# A purge on X reaches Y through the new master.
my $gone = $yes[0];
ok t_cmp($S{y}->{get}->('/index.html', $gone)->{status}, 200, 'a user allowed on Y');
sim(POST => '/__control/revoke', {user_id => $gone, application_id => $APP});
my $res = sim(POST => '/__control/webhook', {url => "http://127.0.0.1:$S{x}{port}/pingone/webhook",
    headers => {Authorization => 'Bearer hook-secret-0123456789'},
    events => [{type => 'OAUTH_CONSENT.REVOKED', user_id => $gone, application_id => $APP}]});
ok t_cmp($res->{status}, 200, 'webhook to X after the failover');
ok t_cmp($S{y}->{get}->('/index.html', $gone)->{status}, 403, 'Y denies at once');
ok t_cmp(redis($r->{port}, password => $PW)->cmd('ROLE')->[0], 'master', 'the entries live on the new master');

$S{$_}->{stop}->() for qw(x y);
printf "# t/26_sentinel.t took %.1f s\n", time - $t0;
