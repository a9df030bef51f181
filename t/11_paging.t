# PingOne pages collections (_links.next.href).  The consent that counts is
# the most recent one of the whole history, so the module reads every page;
# a next link that leaves the configured API is never followed.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use JSON::PP ();

plan tests => 12;
sim_reset();
sim(POST => '/__control/paging', {consents => 1});
sub as { my ($id) = @_; req('/index.html', vhost => 'pc_cache', headers => {'X-Test-Sub' => $id}) }
# A working token first (the reset forgot the simulator's tokens), so the
# call counts below are pages, not 401 retries.
as($U{bob});

sub history {
    my ($user, @entries) = @_;
    for my $e (@entries) {
        sim(POST => '/__control/consents', {user_id => $user, application_id => $PCTest::APP1,
            scope => ['openid'], status => $e->[0], consentedAt => $e->[1], replace => JSON::PP::false});
    }
}

# Accepted twice, then revoked: the revoke is on page 3.
my $p = 'ec000000-0000-4000-8000-000000000001';
history($p, ['ACCEPTED', '2024-01-01T00:00:00.000Z'], ['ACCEPTED', '2024-02-01T00:00:00.000Z'],
            ['REVOKED', '2024-03-01T00:00:00.000Z']);
sim(POST => '/__control/reset-counts');
my $m = decision_mark();
my $r = as($p);
ok t_cmp($r->{status}, 403, 'revoke on the last of three pages: 403');
my ($line) = decision_since($m);
ok t_cmp($line, qr/ 403 deny:revoked /, 'note deny:revoked');
ok t_cmp(counts()->{consents}, 3, 'three pages read (three calls)');

# Revoked first, accepted later: the accepted one (page 2) counts.
my $q = 'ec000000-0000-4000-8000-000000000002';
history($q, ['REVOKED', '2024-01-01T00:00:00.000Z'], ['ACCEPTED', '2024-02-01T00:00:00.000Z']);
$r = as($q);
ok t_cmp($r->{status}, 200, 'accepted again on page 2: 200');
my $state = sim(GET => '/__control/state');
my ($newest) = grep { $_->{user_id} eq $q && $_->{status} eq 'ACCEPTED' } @{ $state->{consents} || [] };
ok t_cmp($r->{headers}{'x-pc-consent-id'}, $newest ? $newest->{id} : 'missing',
         'PINGONE_CONSENT_ID is the page-2 consent');

# One page: one call.
sim(POST => '/__control/paging', {consents => 100});
my $s = 'ec000000-0000-4000-8000-000000000003';
history($s, ['ACCEPTED', '2024-01-01T00:00:00.000Z'], ['REVOKED', '2024-03-01T00:00:00.000Z']);
sim(POST => '/__control/reset-counts');
ok t_cmp(as($s)->{status}, 403, 'same history on one page: 403');
ok t_cmp(counts()->{consents}, 1, 'one call');

# A next link to another host is not followed: 503, logged.
my $t = 'ec000000-0000-4000-8000-000000000004';
history($t, ['ACCEPTED', '2024-01-01T00:00:00.000Z']);
my $body = JSON::PP->new->canonical->encode({
    _links => {next => {href => "http://127.0.0.2:9/v1/environments/abcdef01-2345-4678-9abc-def012345678/users/$t/oauthConsents?cursor=Mg"}},
    _embedded => {oauthConsents => [{id => 'c1', application => {id => $PCTest::APP1},
        status => 'ACCEPTED', scope => ['openid'], updatedAt => '2024-01-01T00:00:00Z'}]}});
sim_fault(endpoint => 'consents', type => 'body', body => $body, count => 1);
sim(POST => '/__control/reset-counts');
my $lm = log_mark();
$r = as($t);
ok t_cmp($r->{status}, 503, 'next link to another host: 503 (fail closed)');
ok t_cmp($r->{headers}{'retry-after'} // '', qr/^\d+$/, 'with Retry-After');
ok t_cmp(counts()->{consents}, 1, 'only the first page was asked');
my $log = log_since($lm, qr/_links\.next\.href/);
ok t_cmp($log, qr/_links\.next\.href is not a page of this collection on the configured API/,
         'error log says why');
ok t_cmp(as($t)->{status}, 200, 'the next (normal) answer allows');
