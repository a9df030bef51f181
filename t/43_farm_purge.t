# Purges on a farm cache are honest (issue 12, items 5 and 6), run with a
# redis cache (t/run-httpd-tests.sh): while the cache server hangs, a
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

my $cache = $ENV{PC_CACHE} || '';
my ($port) = $cache =~ /^redis:127\.0\.0\.1:(\d+)/;
my $ok = $port && $ENV{PC_CACHE_SERVER_PID} && !system('redis-cli -v >/dev/null 2>&1');
plan tests => 15, need { 'a redis cache (PC_CACHE, PC_CACHE_SERVER_PID) and redis-cli' => $ok };
sim_reset();

my $hp = Apache::TestRequest::hostport();
my $admin = "http://$hp/pingone/admin";
sub as { my ($id) = @_; req('/index.html', vhost => 'pc_cache', headers => {'X-Test-Sub' => $id}) }
sub src { as($_[0])->{headers}{'x-pc-source'} // '' }
sub deliver {
    my ($user) = @_;
    return sim(POST => '/__control/webhook', {
        url => "http://$hp/pingone/webhook",
        headers => {Authorization => 'Bearer hook-secret-0123456789'},
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

kill 'STOP', $ENV{PC_CACHE_SERVER_PID};
my $res = eval { deliver($u) } || {status => 0, body => ''};
my $body = eval { decode_json($res->{body}) } || {};
my $a1 = admin_post($admin, {action => 'purge-user', user => $u});
my $a2 = admin_post($admin, {action => 'purge-all'});
kill 'CONT', $ENV{PC_CACHE_SERVER_PID};
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
