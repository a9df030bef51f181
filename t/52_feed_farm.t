# Two web servers following one environment's activity feed through one
# shared redis/memcache cache (run by t/run-httpd-tests.sh with a remote
# cache): one server holds the lease and polls, the other follows its
# cursor, so they make one poll per interval between them; a revoke the
# poller applies is denied on the other server; when the poller stops, the
# other takes the lease over.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use JSON::PP;
use Time::HiRes qw(time sleep);

my $cache = $ENV{PC_CACHE} || '';
my $remote = ($cache =~ /^(?:redis|memcache):/) ? 1 : 0;
plan tests => 8, need { 'a redis or memcache cache shared by two servers (PC_CACHE)' => $remote };
sim_reset();

my $app = $PCTest::APP1;
my $u = 'f0000000-0000-4000-8000-000000970000';
sim(POST => '/__control/bulk-users', {count => 1, start => 970000, application => $app, scope => ['openid']});
sim(POST => '/__control/activities', {ingestion_delay_ms => 500});

my %srv;
for my $name (qw(farm_a farm_b)) {
    $srv{$name} = extra_server(name => $name, modules => [qw(socache_redis socache_memcache)], conf => <<"EOC");
PingOneConsentCache $cache
PingOneConsentCacheKey file:@{[serverroot()]}/conf/cache.key
PingOneActivityPoll 1
PingOneTimeout 1000 500
PingOneConsentCacheTTL 60 60
<Location /pingone/admin>
    SetHandler pingone-consent-admin
    Require all granted
</Location>
<Location /index.html>
    Require all granted
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication $app
</Location>
EOC
}

sub feed_of { (decode_json($_[0]->{get}->('/pingone/admin')->{content} || '{}')->{activity_feed}{environments} || [{}])->[0] }
sub wait_for {
    my ($secs, $cond) = @_;
    my $t0 = time;
    while (time - $t0 < $secs) { return time - $t0 if $cond->(); sleep 0.1 }
    return undef;
}
my ($poller, $follower);
my $settled = wait_for(20, sub {
    my %role = map { $_ => (feed_of($srv{$_})->{role} // '') } keys %srv;
    ($poller) = grep { $role{$_} eq 'polling' } keys %role;
    ($follower) = grep { $role{$_} eq 'following' } keys %role;
    return $poller && $follower;
});
ok t_cmp(defined $settled ? 1 : 0, 1, 'one server polls, the other follows');
$poller //= 'farm_a';
$follower //= 'farm_b';

sim(POST => '/__control/reset-counts');
my $t0 = time;
sleep 6;
my $calls = counts()->{activities} || 0;
my $secs = time - $t0;
ok t_cmp($calls >= 2 && $calls <= $secs + 2 ? 1 : 0, 1,
         sprintf('%d audit calls in %.1f s between the two servers (interval 1 s: one poller)', $calls, $secs));
ok t_cmp(feed_of($srv{$follower})->{healthy} ? 1 : 0, 1, "the follower's feed is healthy (the poller's record)");

# A revoke applied by the poller is seen by the follower (one cache).
my $get_f = sub { $srv{$follower}->{get}->('/index.html', $u) };
$get_f->();
ok t_cmp($get_f->()->{status}, 200, 'an allow cached, read through the follower');
sim(POST => '/__control/revoke', {user_id => $u, application_id => $app});
my $took = wait_for(20, sub { $get_f->()->{status} == 403 });
ok t_cmp(defined $took && $took <= 1 + 0.5 + 1 + 3 ? 1 : 0, 1,
         sprintf('revoked at PingOne: denied on the follower after %s s', defined $took ? sprintf('%.2f', $took) : 'never'));

# The poller stops: the follower takes the lease over when it lapses.
$srv{$poller}->{stop}->();
$took = wait_for(30, sub { (feed_of($srv{$follower})->{role} // '') eq 'polling' });
ok t_cmp(defined $took ? 1 : 0, 1,
         sprintf('the poller stopped: the other server polls after %s s', defined $took ? sprintf('%.1f', $took) : 'never'));
sim(POST => '/__control/reset-counts');
ok t_cmp(defined wait_for(10, sub { (counts()->{activities} || 0) >= 2 }) ? 1 : 0, 1, 'and keeps polling');
ok t_cmp(defined wait_for(10, sub { feed_of($srv{$follower})->{healthy} }) ? 1 : 0, 1, 'healthy');

# On a failure, what the servers logged about the feed.
for my $name (sort keys %srv) {
    my @lines = grep { /PC001[34]\d|PC0002[26]/ } split /\n/, $srv{$name}->{error_log}->();
    print "# $name: $_\n" for @lines[($#lines > 15 ? $#lines - 15 : 0) .. $#lines];
}
$srv{$follower}->{stop}->();
sim_reset();
