# A farm on the module's own Redis client (PingOneConsentCache redis://):
# a Redis 7 this test starts itself, with requirepass and a least-privilege
# ACL user, three web servers on it (each with its local tier in front),
# and the promises of issue 13:
#   - a decision made on one server is a hit on the others;
#   - a webhook to one denies on all three, an admin purge-all on one
#     reaches all three at once;
#   - entries are sealed: a flipped byte, a value copied under another
#     user's key, an entry written without the key - none is honoured;
#   - a lost purge subscription (CLIENT KILL) never leaves a stale allow:
#     a purge made during the gap denies on this server too;
#   - a wrong password: configtest passes, the log says AUTH failed, the
#     requests go to PingOne (which still decides: never open), and the
#     PingOne budget falls back to the server's own bucket;
#   - PingOneRateLimit is one budget for the farm.
# Run once, in the redis:// pass of t/run-httpd-tests.sh (its web servers
# use the event MPM; PC_FARM_MPM=prefork or worker to try another).
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use PCRedis qw(start_redis redis entry_key seal wait_for);
use Time::HiRes qw(time sleep);

my $cache = $ENV{PC_CACHE} || '';
plan tests => 47, need { 'the redis:// pass (PC_CACHE=redis://...)' => ($cache =~ m{^redis://} ? 1 : 0) };
sim_reset();

my $ENV_ID = 'abcdef01-2345-4678-9abc-def012345678';
my $APP = $PCTest::APP1;
my $dir = serverroot() . '/logs/farm25';
mkdir $dir;

# Redis with a password for the default user and the ACL user the docs
# recommend (keys and channels under pc:, only the commands the module
# sends).
my $ADMIN_PW = 'admin-pw-0123456789';
my $MOD_PW = 'pcmod-pw-0123456789';
my $redis = start_redis(dir => $dir, password => $ADMIN_PW, users => [
    "pcmod on >$MOD_PW ~pc:* &pc:* -\@all +get +set +del +publish +subscribe " .
    "+ping +select +role +evalsha +eval +time +hmget +hset +pexpire +zadd +zrem " .
    "+zremrangebyscore +zcard +zrangebyscore +sadd +sismember"]);
my $rport = $redis->{port};
my $admin = redis($rport, password => $ADMIN_PW);

my $SECRET = join '', map { sprintf '%02x', int rand 256 } 1 .. 32;
open my $kf, '>', "$dir/cache.key" or die $!;
print $kf "$SECRET\n";
close $kf;
open my $pf, '>', "$dir/redis.pw" or die $!;
print $pf "$MOD_PW\n";
close $pf;

sub farm_conf {
    my (%o) = @_;
    my $auth = $o{auth} // "pcmod file:$dir/redis.pw";
    my $db = $o{db} // 0;
    my $rate = $o{rate} // '5000 5000';
    return <<"EOC";
PingOneConsentCache redis://127.0.0.1:$rport/$db
PingOneConsentCacheAuth $auth
PingOneConsentCacheKey file:$dir/cache.key
PingOneConsentCacheTTL 60 10
PingOneRateLimit $rate
PingOneTimeout 1000 500
@{[gated_location('/index.html', $APP)]}
<Location /pingone/webhook>
    SetHandler pingone-consent-webhook
    PingOneWebhookAuthorization "Bearer hook-secret-0123456789"
    Require all granted
</Location>
<Location /pingone/admin>
    SetHandler pingone-consent-admin
    Require ip 127.0.0.1
</Location>
EOC
}

my $t0 = time;
my %S = map { $_ => extra_server(name => "farm25$_", conf => farm_conf(), modules => ['authz_host'],
                                         mpm => $ENV{PC_FARM_MPM} || 'event') } qw(a b c);
sub on { my ($s, $u) = @_; $S{$s}->{get}->('/index.html', $u) }
sub src { my $r = on(@_); ($r->{status}, $r->{headers}{'x-pc-source'} // '') }
sub numsub { my $r = $admin->cmd('PUBSUB', 'NUMSUB', 'pc:purge:0'); $r->[1] }
sub user { sprintf 'f2500000-0000-4000-8000-%012d', $_[0] }
sub consent {
    my ($u, %o) = @_;
    sim(POST => '/__control/consents', {user_id => $u, application_id => $APP,
                                        scope => ['openid'], %o});
}
sub webhook_to {
    my ($s, $u) = @_;
    return sim(POST => '/__control/webhook', {
        url => "http://127.0.0.1:$S{$s}{port}/pingone/webhook",
        headers => {Authorization => 'Bearer hook-secret-0123456789'},
        events => [{type => 'OAUTH_CONSENT.REVOKED', user_id => $u, application_id => $APP}]});
}
sub admin_status { my $r = $S{$_[0]}->{get}->('/pingone/admin'); $r->{content} // '' }

ok t_cmp(wait_for(20, sub { numsub() == 3 }) ? 3 : numsub(), 3,
         'three servers subscribed to the purge channel');

# ---- a decision made on one is a hit on the others --------------------------
my $u1 = user(1);
consent($u1);
sim(POST => '/__control/reset-counts');
ok t_cmp(join(' ', src('a', $u1)), '200 pingone', 'A asks PingOne');
ok t_cmp(join(' ', src('b', $u1)), '200 cache', 'B: a hit (from Redis)');
ok t_cmp(join(' ', src('c', $u1)), '200 cache', 'C: a hit (from Redis)');
ok t_cmp(join(' ', src('b', $u1)), '200 cache', 'B again: a hit (its local tier)');
ok t_cmp(counts()->{consents}, 1, 'one PingOne call for the farm');
my $stored = $admin->cmd('GET', entry_key($ENV_ID, $u1, $APP));
ok t_cmp(defined $stored && length($stored) > 33 + 17 ? 1 : 0, 1,
         'the entry is in Redis, framed and sealed');

# ---- a webhook to one server denies on all three ----------------------------
sim(POST => '/__control/revoke', {user_id => $u1, application_id => $APP});
ok t_cmp((src('c', $u1))[0], 200, 'revoked at PingOne, before the webhook: still cached');
ok t_cmp(webhook_to('a', $u1)->{status}, 200, 'webhook delivered to A');
ok t_cmp(join(' ', map { (src($_, $u1))[0] } qw(a b c)), '403 403 403',
         'A, B and C deny on their next request');

# ---- an admin purge-all on one reaches all three ------------------------------
# (one user per server afterwards: the first server to ask PingOne again
# caches the answer for the farm)
my ($u2, $u2x) = (user(2), user(12));
consent($_) for $u2, $u2x;
for my $u ($u2, $u2x) { src($_, $u) for qw(a b c) }
ok t_cmp(join(' ', map { (src($_, $u2))[1], (src($_, $u2x))[1] } qw(a b c)),
         'cache cache cache cache cache cache', 'u2 and u2x cached on all three');
my $r = $S{a}->{admin}->('/pingone/admin', {action => 'purge-all'});
ok t_cmp($r->{status}, 200, 'purge-all on A');
ok t_cmp(join(' ', (src('b', $u2))[1], (src('c', $u2x))[1]), 'pingone pingone',
         'B and C ask PingOne again at once (no wait)');
ok t_cmp(join(' ', map { (src($_, $u2))[1] } qw(a b c)), 'cache cache cache',
         'and cache again afterwards');
my $epoch = 1;

# ---- tampering -----------------------------------------------------------------
# Each entry is made on A, tampered with in Redis, and then looked up on B
# or C, which have no copy of their own and must read Redis.
sub tamper_check {
    my ($what, $u, $server, $mangle) = @_;
    my $k = entry_key($ENV_ID, $u, $APP, $epoch);
    my $v = $admin->cmd('GET', $k);
    my $ttl = $admin->cmd('PTTL', $k);
    my ($failures_before) = admin_status($server) =~ /"cache_seal_failures":(\d+)/;
    $mangle->($k, $v, $ttl);
    sim(POST => '/__control/reset-counts');
    my ($st) = src($server, $u);
    my ($failures) = admin_status($server) =~ /"cache_seal_failures":(\d+)/;
    ok t_cmp($st . ' ' . (counts()->{consents} || 0), '403 1',
             "$what: not honoured ($server denies, asking PingOne)");
    ok t_cmp(($failures // 0) - ($failures_before // 0), 1, "$what: counted as a seal failure");
}

# A revoked consent, then its cached deny turned into an allow by flipping
# the status byte (frame 17 bytes, then format, kind, status).
my $u3 = user(3);
consent($u3, status => 'REVOKED');
ok t_cmp((src('a', $u3))[0], 403, 'u3 (revoked) denied on A, deny cached');
tamper_check('a flipped byte (REVOKED -> ACCEPTED)', $u3, 'b', sub {
    my ($k, $v, $ttl) = @_;
    substr($v, 17 + 2, 1) = chr(1);
    $admin->cmd('SET', $k, $v, 'PX', $ttl);
});

# An allow copied under another user's key.
my ($u4, $u5) = (user(4), user(5));
consent($u4);
consent($u5, status => 'REVOKED');
src('a', $_) for $u4, $u5;
tamper_check("another user's allow copied under this user's key", $u5, 'c', sub {
    my ($k) = @_;
    $admin->cmd('SET', $k, $admin->cmd('GET', entry_key($ENV_ID, $u4, $APP, $epoch)), 'PX', 60000);
});

# An entry written by someone without the key: u6's deny rewritten as an
# allow and sealed the right way, but with a key of the writer's own.
my $u6 = user(6);
consent($u6, status => 'REVOKED');
src('a', $u6);
tamper_check('an entry sealed with another key', $u6, 'b', sub {
    my ($k, $v, $ttl) = @_;
    my $plain = substr($v, 0, length($v) - 33);
    substr($plain, 17 + 2, 1) = chr(1);
    $admin->cmd('SET', $k, seal('x' x 32, $k, $plain), 'PX', $ttl);
});

# The same without any seal at all.
my $u7 = user(7);
consent($u7, status => 'REVOKED');
src('a', $u7);
tamper_check('an entry without a seal', $u7, 'c', sub {
    my ($k, $v, $ttl) = @_;
    my $plain = substr($v, 0, length($v) - 33);
    substr($plain, 17 + 2, 1) = chr(1);
    $admin->cmd('SET', $k, $plain, 'PX', $ttl);
});
ok t_cmp($S{b}->{error_log}->(), qr/PC00030: \d+ entr(?:y|ies) of the farm cache ignored/,
         'seal failures are logged');

# A forged purge-all epoch must not bring old entries back: it makes the
# cache unusable (PingOne decides) until it is put right.
$admin->cmd('SET', 'pc:epoch', '0', 'PX', 60000);
$r = $S{c}->{admin}->('/pingone/admin', {action => 'purge-all'});
ok t_cmp($r->{status}, 503, 'purge-all refuses an epoch without a valid seal (503)');
$admin->cmd('SET', 'pc:epoch', seal($SECRET, 'pc:epoch', '1'), 'PX', 60000);

# ---- the subscription lost, a purge during the gap ---------------------------------
my $u8 = user(8);
consent($u8);
src($_, $u8) for qw(a b c);
ok t_cmp(join(' ', map { (src($_, $u8))[1] } qw(a b c)), 'cache cache cache',
         'u8 cached in every local tier');
sim(POST => '/__control/revoke', {user_id => $u8, application_id => $APP});
$admin->cmd('CLIENT', 'KILL', 'TYPE', 'pubsub');
my $gap = numsub();
my $res = webhook_to('a', $u8);
my $gap_after = numsub();
print "# subscribers right after CLIENT KILL: $gap, after the webhook: $gap_after\n";
ok t_cmp($res->{status}, 200, 'webhook to A while nobody is subscribed');
ok t_cmp(join(' ', map { (src($_, $u8))[0] } qw(b c)), '403 403',
         'B and C deny at once (their local tier is bypassed while unsubscribed)');
ok t_cmp(wait_for(20, sub { numsub() == 3 }) ? 3 : numsub(), 3, 'all three subscribed again');
# the local tier is in use again (wait until it is alive), and was flushed
my $u9 = user(9);
consent($u9);
src('a', $u9);
ok t_cmp(wait_for(10, sub { (src('b', $u9))[1] eq 'cache' }) ? 1 : 0, 1, 'B caches again');
ok t_cmp(join(' ', map { (src($_, $u8))[0] } qw(a b c)), '403 403 403',
         'no server brought back a copy from before the gap');
like_log('b', qr/PC00031: the farm's purge subscription is lost/, 'the loss is logged (PC00031)');
like_log('b', qr/PC00032: subscribed to the farm's purge channel .* local cache flushed/,
         'and the return, with the flush (PC00032)');

sub like_log { my ($s, $re, $name) = @_; ok t_cmp($S{$s}->{error_log}->(), $re, $name) }

# ---- a wrong password ------------------------------------------------------------------
my $conf_bad = farm_conf(auth => 'pcmod not-the-password', rate => '3 3');
my $httpd = Apache::Test::vars('httpd');
# configtest on a configuration of its own (httpd -t never connects).
sub configtest {
    my ($name, $farm) = @_;
    my $d = "$dir/$name";
    mkdir $d;
    open my $fh, '>', "$d/httpd.conf" or die $!;
    print $fh "ServerRoot $d\nServerName 127.0.0.1\nListen 127.0.0.1:" . PCRedis::free_port() . "\n",
        "ErrorLog $d/error_log\n",
        (map { "LoadModule ${_}_module $ENV{PC_MODDIR}/mod_$_.so\n" }
             qw(mpm_event authz_core authz_host setenvif headers socache_memcache)),
        "LoadModule pingone_consent_module $ENV{PC_MODULE}\n",
        "PingOneEnvironmentID $ENV_ID\nPingOneClientID c0ffee00-1111-4222-8333-444455556666\n",
        "PingOneClientSecret s3cr3t-worker-secret\n", $farm;
    close $fh;
    my $out = `$httpd -t -f $d/httpd.conf 2>&1`;
    return ($? >> 8, $out);
}
my ($rc, $out) = configtest('ct-badpw', $conf_bad);
ok t_cmp($rc, 0, 'a wrong Redis password: configtest passes (it does not connect)');
(my $nokey = $conf_bad) =~ s/^PingOneConsentCacheKey.*\n//m;
($rc, $out) = configtest('ct-nokey', $nokey);
ok t_cmp($rc != 0 && $out =~ /PingOneConsentCacheKey: not set, but PingOneConsentCache redis:/ ? 1 : 0, 1,
         'without PingOneConsentCacheKey configtest fails, naming it');
(my $memc = $nokey) =~ s{^PingOneConsentCache redis://\S+}{PingOneConsentCache memcache:127.0.0.1:1}m;
$memc =~ s/^PingOneConsentCacheAuth.*\n//m;
($rc, $out) = configtest('ct-memcache', $memc);
ok t_cmp($rc != 0 && $out =~ /PingOneConsentCacheKey: not set, but PingOneConsentCache memcache:/ ? 1 : 0, 1,
         'a socache farm (memcache) needs the key too');
($rc, $out) = configtest('ct-memcache-auth', $memc =~ s/^(PingOneConsentCache memcache.*)$/$1\nPingOneConsentCacheAuth pw\nPingOneConsentCacheKey file:$dir\/cache.key/mr);
ok t_cmp($rc != 0 && $out =~ /PingOneConsentCacheAuth: needs the module's own Redis client/ ? 1 : 0, 1,
         'PingOneConsentCacheAuth with a socache provider: configtest says it cannot log in');
my $bad = extra_server(name => 'farm25bad', conf => $conf_bad, modules => ['authz_host']);
my $ub = user(20);
consent($ub);
sim(POST => '/__control/reset-counts');
my @src = map { ($bad->{get}->('/index.html', $ub)->{headers}{'x-pc-source'}) // '' } 1 .. 3;
ok t_cmp("@src", 'pingone pingone pingone', 'wrong password: every request asks PingOne');
ok t_cmp(counts()->{consents}, 3, 'three PingOne calls');
ok t_cmp($bad->{get}->('/index.html', user(21))->{status}, 403,
         'a user without consent is still denied (PingOne decides, never open)');
ok t_cmp($bad->{error_log}->(), qr/PC00022: cache 'redis:.*AUTH failed at 127\.0\.0\.1:$rport: WRONGPASS.*ACL user 'pcmod'/,
         'the error log says AUTH failed, naming the user, not the password');
ok t_cmp(index($bad->{error_log}->(), 'not-the-password'), -1, 'the password is never logged');

# Redis unreachable: the budget is this server's own (3/s, burst 3), not none.
sim(POST => '/__control/bulk-users', {count => 20, start => 2500100, application => $APP, scope => ['openid']});
$bad->{get}->('/index.html', user(22));     # the worker token first
sleep 1.2;
sim(POST => '/__control/reset-counts');
my $t1 = time;
concurrently(20, sub { $bad->{get}->('/index.html', sprintf('f0000000-0000-4000-8000-%012d', 2500100 + $_[0] - 1))->{status} == 200 });
my $el = time - $t1;
my $calls = counts()->{consents} || 0;
ok t_cmp($calls <= 3 + 3 * $el + 1 ? 1 : 0, 1,
         sprintf('Redis unreachable: %d PingOne calls for 20 cold users in %.1f s, within the server\'s own budget', $calls, $el));
ok t_cmp($bad->{error_log}->(), qr/PC00034: the farm-wide PingOne call budget in Redis cannot be reached/,
         'the fallback to the server\'s own budget is logged');
$bad->{stop}->();

# ---- one PingOne budget for the farm ------------------------------------------------------
# Two more servers on database 1 (a bucket of their own), 2 calls/s, burst
# 2: 30 cold users at once, half on each, get at most what ONE such
# budget allows.
my %B = map { $_ => extra_server(name => "farm25$_", conf => farm_conf(db => 1, rate => '2 2'),
                                       modules => ['authz_host']) } qw(d e);
sim(POST => '/__control/bulk-users', {count => 30, start => 2500200, application => $APP, scope => ['openid']});
$B{$_}->{get}->('/index.html', user(30)) for qw(d e);   # tokens
sleep 1.2;
sim(POST => '/__control/reset-counts');
$t1 = time;
concurrently(30, sub {
    my $s = $_[0] % 2 ? 'd' : 'e';
    $B{$s}->{get}->('/index.html', sprintf('f0000000-0000-4000-8000-%012d', 2500200 + $_[0] - 1))->{status} == 200;
});
$el = time - $t1;
$calls = counts()->{consents} || 0;
ok t_cmp($calls <= 2 + 2 * $el + 1 ? 1 : 0, 1,
         sprintf('two servers, one budget: %d PingOne calls in %.1f s, at most %.1f allowed for the farm (2/s, burst 2)',
                 $calls, $el, 2 + 2 * $el));
$admin->cmd('SELECT', 1);
ok t_cmp(defined $admin->cmd('HGET', 'pc:budget', 'tokens') ? 1 : 0, 1,
         'the bucket lives in Redis (pc:budget, database 1)');
$admin->cmd('SELECT', 0);
$B{$_}->{stop}->() for qw(d e);

ok t_cmp(index(join('', map { $S{$_}->{error_log}->() } qw(a b c)), $MOD_PW), -1,
         'the Redis password appears in no log');
$S{$_}->{stop}->() for qw(a b c);
printf "# t/25_redis_farm.t took %.1f s\n", time - $t0;
