import { strict as assert } from 'node:assert';
import {
  compareVersions,
  distroKernelVersion,
  isDistributionKernel,
  mustParse,
  parseKernelRelease,
  parseVersion,
  upstreamString,
} from '../../../src/host/versions.js';

describe('host/versions', () => {
  describe('parseVersion', () => {
    const cases: Array<[string, string, string]> = [
      // input, normalised upstream part, suffix
      ['1.0.0-rc93', '1.0.0-rc.93', ''],
      ['1.0-rc6', '1.0-rc.6', ''],
      ['1.4.0-rc.3', '1.4.0-rc.3', ''],
      ['1.1.5+ds1', '1.1.5', '+ds1'],
      ['20.10.24+dfsg1', '20.10.24', '+dfsg1'],
      ['1.6.20~ds1', '1.6.20', '~ds1'],
      ['1.6.20~ds1-1+deb12u3', '1.6.20', '~ds1-1+deb12u3'],
      ['v1.7.0', '1.7.0', ''],
      ['6.1.0-27-amd64', '6.1.0', '-27-amd64'],
      ['5.15.0-91-generic', '5.15.0', '-91-generic'],
      ['4.18.0-477.el8.x86_64', '4.18.0', '-477.el8.x86_64'],
      ['6.18.44-fc-v782', '6.18.44', '-fc-v782'],
      ['6.8.0-1015-aws', '6.8.0', '-1015-aws'],
      ['2.0.0-beta.0', '2.0.0-beta.0', ''],
      ['1.0.0-rc92+dev', '1.0.0-rc.92', '+dev'],
      ['5.17-rc3', '5.17-rc.3', ''],
      ['1.1.0~rc.1+ds1-1', '1.1.0-rc.1', '+ds1-1'],
      ['5.15.153.1-microsoft-standard-WSL2', '5.15.153.1', '-microsoft-standard-WSL2'],
    ];
    for (const [input, upstream, suffix] of cases) {
      it(`reads ${input}`, () => {
        const p = parseVersion(input);
        assert.ok(p, `${input} should parse`);
        assert.equal(upstreamString(p), upstream);
        assert.equal(p.suffix, suffix);
      });
    }

    it('distribution suffixes are not pre-releases', () => {
      for (const v of ['1.1.5+ds1', '20.10.24+dfsg1', '1.6.20~ds1', '1.6.20~ds1-1+deb12u3', '5.15.0-91-generic', '4.18.0-477.el8.x86_64', '6.18.44-fc-v782']) {
        assert.equal(mustParse(v).pre, null, v);
      }
    });

    it('rejects strings without a major.minor core', () => {
      for (const v of ['', 'unknown', 'dev', '20', '7b11cfaabd73bb80907dd23182b9347b4245eb5d', '1.2x']) {
        assert.equal(parseVersion(v), null, v);
      }
    });
  });

  describe('compareVersions', () => {
    it('sorts every real-world string in upstream order', () => {
      const ordered = [
        '1.0-rc6',
        '1.0.0-rc93',
        '1.0.0-rc95',
        '1.0.0',
        '1.1.5+ds1',
        '1.1.12',
        '1.4.0-rc.1',
        '1.4.0-rc.3',
        '1.4.0',
        '1.6.20~ds1',
        'v1.7.0',
        '4.18.0-477.el8.x86_64',
        '5.15.0-91-generic',
        '6.1.0-27-amd64',
        '6.8.0-1015-aws',
        '6.18.44-fc-v782',
        '20.10.24+dfsg1',
      ];
      for (let i = 0; i + 1 < ordered.length; i++) {
        const a = ordered[i] as string;
        const b = ordered[i + 1] as string;
        assert.equal(compareVersions(a, b), -1, `${a} < ${b}`);
        assert.equal(compareVersions(b, a), 1, `${b} > ${a}`);
      }
      const shuffled = [...ordered].reverse().sort(compareVersions);
      assert.deepEqual(shuffled, ordered);
    });

    it('pre-releases sort before their release, by label then number', () => {
      assert.equal(compareVersions('1.4.0-rc.3', '1.4.0'), -1);
      assert.equal(compareVersions('1.0.0-rc93', '1.0.0-rc.93'), 0);
      assert.equal(compareVersions('1.0-rc6', '1.0.0-rc6'), 0);
      assert.equal(compareVersions('1.0.0-rc9', '1.0.0-rc10'), -1); // numeric, not lexical
      assert.equal(compareVersions('2.0.0-beta.0', '2.0.0-rc.1'), -1);
      assert.equal(compareVersions('2.0.0-alpha.9', '2.0.0-beta.0'), -1);
      assert.equal(compareVersions('5.17-rc3', '5.17'), -1);
      assert.equal(compareVersions('5.16.20', '5.17-rc1'), -1);
    });

    it('ignores distribution suffixes and a leading v', () => {
      assert.equal(compareVersions('1.1.5+ds1', '1.1.5'), 0);
      assert.equal(compareVersions('1.6.20~ds1', '1.6.20'), 0); // Debian's ~ is a repack, not "before"
      assert.equal(compareVersions('20.10.24+dfsg1', '20.10.24'), 0);
      assert.equal(compareVersions('v1.7.0', '1.7.0'), 0);
      assert.equal(compareVersions('5.15.0-91-generic', '5.15'), 0);
      assert.equal(compareVersions('1.1.12', '1.1.5+ds1'), 1);
    });

    it('missing components are zero; more components sort later', () => {
      assert.equal(compareVersions('5.12', '5.12.0'), 0);
      assert.equal(compareVersions('5.15.153.1', '5.15.153'), 1);
      assert.equal(compareVersions('5.10', '5.9.99'), 1);
    });

    it('throws on an unparseable string', () => {
      assert.throws(() => compareVersions('garbage', '1.0'), /not a version/);
    });
  });

  describe('kernel releases', () => {
    const distro: Array<[string, string | null]> = [
      ['6.1.0-27-amd64', 'debian'],
      ['6.1.0-27-cloud-amd64', 'debian'],
      ['6.1.0-0.deb11.13-amd64', 'debian'],
      ['6.12.38+deb13-amd64', 'debian'],
      ['5.15.0-91-generic', 'ubuntu'],
      ['6.8.0-1015-aws', 'ubuntu'],
      ['5.4.0-1103-azure', 'ubuntu'],
      ['4.18.0-477.el8.x86_64', 'rhel'],
      ['5.15.0-200.131.27.el9uek.x86_64', 'rhel'],
      ['6.5.6-300.fc39.x86_64', 'fedora'],
      ['5.10.228-219.884.amzn2.x86_64', 'amazon'],
      ['5.14.21-150500.55.39-default', 'suse'],
      ['6.6.8-0-lts', 'alpine'],
      ['6.6.1-arch1-1', 'arch'],
      ['5.15.138.1-4.cm2', 'azurelinux'],
      ['6.6.31+rpt-rpi-v8', 'raspberrypi'],
      // upstream or local builds: taken at face value
      ['6.18.44-fc-v782', null],
      ['6.18.44', null],
      ['6.6.30-gentoo', null],
      ['6.1.66-flatcar', null],
      ['5.15.153.1-microsoft-standard-WSL2', null],
      ['6.9.0-rc3', null],
    ];
    for (const [release, expected] of distro) {
      it(`${release} → ${expected ?? 'upstream'}`, () => {
        assert.equal(parseKernelRelease(release)?.distro ?? null, expected);
        assert.equal(isDistributionKernel(release), expected !== null);
      });
    }

    it('reads the upstream base and the ABI number', () => {
      const k = parseKernelRelease('5.4.0-72-generic');
      assert.ok(k);
      assert.equal(upstreamString(k.upstream), '5.4.0');
      assert.equal(k.abi, 72);
      assert.equal(parseKernelRelease('6.18.44-fc-v782')?.abi, null);
      assert.equal(parseKernelRelease('not-a-kernel'), null);
    });

    it('vendor versions compare by upstream core plus ABI', () => {
      const v = (s: string) => distroKernelVersion(mustParse(s)).release;
      assert.deepEqual(v('5.4.0-72-generic'), [5, 4, 0, 72]);
      assert.deepEqual(v('5.4.0-72.80'), [5, 4, 0, 72]);
      assert.deepEqual(v('5.8'), [5, 8, 0, 0]);
    });
  });
});
