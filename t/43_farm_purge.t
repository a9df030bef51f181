# Purges on a farm cache are honest (issue 12, items 5 and 6), on a server
# of its own with a redis cache of its own: while the cache server hangs, a
# webhook delivery answers 503 (PingOne retries it) and admin purges 503,
# never "done"; once it is back the retried purge takes effect.  A purge-all
# epoch that reads as garbage keeps the cache out of the lookup instead of
# bringing back the decisions from before the purge.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use JSON::PP;
use Time::HiRes qw(sleep);
use IO::Socket::INET;

# Its own redis and web server (the suite's cache server and error log stay
# untouched: t/22 counts PC00022 lines); run in the redis pass of
# t/run-httpd-tests.sh.
my $ok = ($ENV{PC_CACHE} || '') =~ /^redis:/ && !system('redis-server -v >/dev/null 2>&1')
         && !system('redis-cli -v >/dev/null 2>&1');
plan tests => 15, need { 'the redis pass (PC_CACHE redis:...), redis-server and redis-cli' => $ok };
sim_reset();

my $port = do { my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0); $s->sockport };
my $redis = fork();
die "fork: $!" unless defined $redis;
if (!$redis) {
    exec('redis-server', '--port', $port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
         '--logfile', serverroot() . '/logs/t43-redis.log');
    exit 127;
}
END { if ($redis) { kill 'CONT', $redis; kill 'TERM', $redis } }
for (1 .. 100) { last if IO::Socket::INET->new("127.0.0.1:$port"); sleep 0.05 }
my $hook_auth = 'Bearer t43-hook-secret-0123456789';
my $srv = extra_server(name => 't43', modules => [qw(socache_redis authz_host)], conf => <<"EOC");
PingOneConsentCache redis:127.0.0.1:$port
PingOneConsentCacheKey file:@{[serverroot()]}/conf/cache.key
PingOneConsentCacheTTL 60 10
@{[gated_location('/', $PCTest::APP1)]}
<Location /pingone/webhook>
    SetHandler pingone-consent-webhook
    PingOneWebhookAuthorization "$hook_auth"
</Location>
<Location /pingone/admin>
    SetHandler pingone-consent-admin
    Require ip 127.0.0.1
</Location>
EOC

my $admin = "http://127.0.0.1:$srv->{port}/pingone/admin";
sub as { $srv->{get}->('/index.html', $_[0]) }
sub src { as($_[0])->{headers}{'x-pc-source'} // '' }
sub deliver {
    my ($user) = @_;
    return sim(POST => '/__control/webhook', {
        url => "http://127.0.0.1:$srv->{port}/pingone/webhook",
        headers => {Authorization => $hook_auth},
        events => [{type => 'OAUTH_CONSENT.REVOKED', user_id => $user,
                    application_id => $PCTest::APP1}]});
}
sub consent { sim(POST => '/__control/consents', {user_id => $_[0], application_id => $PCTest::APP1, scope => ['openid']}) }
sub redis { my $cmd = join ' ', map { "'$_'" } @_; my $out = `redis-cli -p $port $cmd 2>&1`; chomp $out; $out }
# mod_socache_redis keys a value by its namespace and the hex of our key.
sub epoch_key {
    for my $k (split /\n/, redis('--scan')) {
        my ($hex) = $k =~ /([0-9a-f]+)$/i or next;
        return $k if length($hex) % 2 == 0 && pack('H*', $hex) eq 'pingone-consent:epoch';
    }
    return undef;
}

# ---- item 5: a purge the hung cache could not store is not "done" --------
my $u = 'e4300000-0000-4000-8000-000000000001';
consent($u);
as($u);
ok t_cmp(src($u), 'cache', 'the user is cached on the cache server');
sim(POST => '/__control/revoke', {user_id => $u, application_id => $PCTest::APP1});

kill 'STOP', $redis;
my $res = eval { deliver($u) } || {status => 0, body => ''};
my $body = eval { decode_json($res->{body}) } || {};
my $a1 = admin_post($admin, {action => 'purge-user', user => $u});
my $a2 = admin_post($admin, {action => 'purge-all'});
kill 'CONT', $redis;
ok t_cmp($res->{status}, 503, 'cache server hung: the webhook delivery answers 503 (PingOne retries)');
ok t_cmp($body->{users_failed}, 1, 'and says the user could not be dropped');
ok t_cmp($body->{users_dropped} // 0, 0, 'nothing reported dropped');
ok t_cmp($a1->{status}, 503, 'admin purge-user answers 503');
ok t_cmp($a1->{headers}{'retry-after'} // '', qr/^\d+$/, 'with Retry-After');
ok t_cmp($a2->{status}, 503, 'admin purge-all answers 503');

# PingOne retries the delivery until it is answered 200.
my ($again, $tries) = ({status => 0}, 0);
for (1 .. 60) {
    $tries++;
    $again = eval { deliver($u) } || {status => 0};
    last if $again->{status} == 200;
    sleep 0.5;
}
ok t_cmp($again->{status}, 200, "cache server back: the retried delivery is accepted ($tries tries)");
ok t_cmp((eval { decode_json($again->{body}) } || {})->{users_dropped}, 1, 'and drops the user');
sim(POST => '/__control/reset-counts');
my $r = as($u);
ok t_cmp($r->{status}, 403, 'the revoked user is denied');
ok t_cmp(counts()->{consents}, 1, 'by asking PingOne again');
ok t_cmp(admin_post($admin, {action => 'purge-all'})->{status}, 200, 'admin purge-all works again');

# ---- item 6: an epoch that is not a number is a failed read, not 0 -------
my $v = 'e4300000-0000-4000-8000-000000000002';
consent($v);
redis('DEL', epoch_key() // 'none');      # epoch 0: "never purged"
sleep 1.2;                                # every process's memo expires
as($v);
ok t_cmp(src($v), 'cache', 'epoch 0: the user is cached');
sim(POST => '/__control/revoke', {user_id => $v, application_id => $PCTest::APP1});
ok t_cmp(admin_post($admin, {action => 'purge-all'})->{status}, 200, 'purge-all: a new epoch');
my $key = epoch_key();
redis('SET', $key // 'none', 'not-a-number');
sleep 1.2;
sim(POST => '/__control/reset-counts');
$r = as($v);
ok t_cmp([$r->{status}, counts()->{consents}], [403, 1],
         'a garbage epoch: the decision from before the purge is not used; PingOne decides');
redis('SET', $key // 'none', '7');
$srv->{stop}->();
kill 'TERM', $redis;
waitpid($redis, 0);
