// portal_e2e.mjs - the portal as people use it, in real headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core), one browser per
// device namespace of the lab. Driven by tests/lab/test_portal_browser.sh,
// which builds the lab and passes everything through the environment.
//
// Browser A runs in the pending station's namespace (the captive face),
// browser B in an approved staff device's namespace (the staff face).
// Output: TAP-style "ok - ..." / "not ok - ..." lines and "# " diagnostics
// on stdout. Exit 0 when every check passed, 1 when one failed, 2 when the
// script itself could not run.
//
// Environment (all required unless a default is given):
//   APGATE_NS_A / APGATE_NS_B   namespaces of the two browsers
//   MAC_S1     the pending station A sits on (claims itself, gets approved)
//   MAC_N3     a device that becomes pending while the staff page is open
//   MAC_X4     a pending device with a hostile DHCP hostname and claim name
//   X4_HOSTS   accepted renderings of X4's hostname, separated by newlines
//   X4_CLAIM   X4's claimed name (sent by the test with curl)
//   STAFF_USER, STAFF_PASSWORD
//   HOOK       a command run with an action word as its argument when the
//              lab must do something while a page is open ("add-n3")
//   ART        screenshot directory
//   CAPTIVE_URL (http://10.77.0.1:8080/), STAFF_URL (https://10.77.0.1:8443),
//   INET_IP (198.51.100.10), TIMEOUT_MS per wait (15000)

import { chromium } from 'playwright-core';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WRAPPER = path.join(HERE, 'chromium-ns.sh');

function need(name, dflt) {
	const v = process.env[name] ?? dflt;
	if (v === undefined || v === '') {
		console.log(`# portal_e2e: ${name} is not set`);
		process.exit(2);
	}
	return v;
}

const C = {
	nsA: need('APGATE_NS_A'),
	nsB: need('APGATE_NS_B'),
	s1: need('MAC_S1').toLowerCase(),
	n3: need('MAC_N3').toLowerCase(),
	x4: need('MAC_X4').toLowerCase(),
	x4Hosts: need('X4_HOSTS').split('\n').filter((s) => s !== ''),
	x4Claim: need('X4_CLAIM'),
	user: need('STAFF_USER'),
	password: need('STAFF_PASSWORD'),
	hook: need('HOOK'),
	art: need('ART'),
	captive: need('CAPTIVE_URL', 'http://10.77.0.1:8080/'),
	staff: need('STAFF_URL', 'https://10.77.0.1:8443').replace(/\/$/, ''),
	inet: need('INET_IP', '198.51.100.10'),
	timeout: Number(need('TIMEOUT_MS', '15000')),
};
const CLAIM = { name: 'Front desk PC', owner: 'Reception' };
const MOBILE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 900 };
const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

// ---- TAP --------------------------------------------------------------------

let failed = 0;
function diag(text) {
	for (const line of String(text).split('\n')) console.log(`# ${line}`);
}
function result(pass, desc, why) {
	console.log(`${pass ? 'ok' : 'not ok'} - ${desc}`);
	if (!pass) {
		failed++;
		if (why) diag(why);
	}
	return pass;
}
// check(desc, fn): fn returns true (pass), or false / a string (fail, the
// string says what was seen), or throws (fail with the error's first lines)
async function check(desc, fn) {
	try {
		const r = await fn();
		return result(r === true, desc, typeof r === 'string' ? r : undefined);
	} catch (e) {
		return result(false, desc, String(e && e.message ? e.message : e).split('\n').slice(0, 6).join('\n'));
	}
}

// gated(cond, desc, fn): check(desc, fn) when cond, else an immediate
// "not ok" (a step it needs failed; no point waiting for its timeouts)
async function gated(cond, desc, fn) {
	if (!cond) return result(false, desc, 'not tried: a step it needs failed');
	return check(desc, fn);
}

// ---- browsers ---------------------------------------------------------------

const browsers = [];
async function launchIn(ns) {
	const b = await chromium.launch({
		executablePath: WRAPPER,
		env: { ...process.env, APGATE_NS: ns },
		timeout: 30000,
		args: [
			// the one name the test uses; every other name fails without a
			// DNS query (the device namespaces have no resolver of their own)
			// (IP literals go through the rules too: the lab's are excluded)
			`--host-resolver-rules=MAP any-name.test ${C.inet}, MAP * ~NOTFOUND, ` +
				[C.inet, new URL(C.captive).hostname, new URL(C.staff).hostname].map((h) => `EXCLUDE ${h}`).join(', '),
			// plain http:// must stay plain http:// (the captive redirect)
			'--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--metrics-recording-only',
		],
	});
	browsers.push(b);
	return b;
}

// Every dialog is an error (XSS probe: alert(1)) except a confirm() the test
// is waiting for around a staff button.
function watch(page, label, st) {
	page.on('dialog', async (d) => {
		if (d.type() === 'confirm' && st.expectConfirm) {
			st.confirms++;
			await d.accept().catch(() => {});
		} else {
			st.dialogs.push(`${label}: ${d.type()} "${d.message()}"`);
			await d.dismiss().catch(() => {});
		}
	});
	page.on('pageerror', (e) => st.errors.push(`${label}: ${e.message}`));
	page.on('console', (m) => {
		if (m.type() === 'error') st.console.push(`${label}: ${m.text()}`);
	});
}

async function shot(page, name, full = false) {
	try {
		await page.screenshot({ path: path.join(C.art, name + '.png'), fullPage: full });
	} catch (e) {
		diag(`screenshot ${name}: ${e.message.split('\n')[0]}`);
	}
}

function runHook(action) {
	return new Promise((resolve, reject) => {
		execFile(C.hook, [action], { timeout: 30000 }, (err, stdout, stderr) => {
			if (err) reject(new Error(`hook ${action}: ${err.message}\n${stdout}${stderr}`));
			else resolve(stdout);
		});
	});
}

const sel = {
	dev: (mac) => `li.device[data-mac="${mac}"]`,
};

async function pathOf(page) {
	return new URL(page.url()).pathname;
}

// Clicks a staff button that may ask for confirmation, natively (confirm())
// or with an in-page <dialog>: accepts either.
async function clickConfirmed(page, st, locator) {
	st.expectConfirm = true;
	try {
		// a form POST (303 back) or staff.js doing it: either way the entry goes
		await locator.click({ timeout: C.timeout });
		await page.waitForTimeout(300);
		const dlg = page.locator('dialog[open]');
		if (await dlg.count().catch(() => 0)) {
			const yes = dlg.locator('button[value="confirm"], button.confirm, button[type="submit"]').first();
			await yes.click({ timeout: 3000 });
		}
	} finally {
		// a native confirm() arrives synchronously with the click
		await page.waitForTimeout(200);
		st.expectConfirm = false;
	}
}

// ---- the test ---------------------------------------------------------------

async function main() {
	mkdirSync(C.art, { recursive: true });
	const st = { dialogs: [], errors: [], console: [], confirms: 0, expectConfirm: false };

	let A, B;
	if (!(await check(`chromium starts in namespace ${C.nsA} (pending station s1)`, async () => {
		A = await launchIn(C.nsA);
		return true;
	}))) return;
	if (!(await check(`chromium starts in namespace ${C.nsB} (staff device s2)`, async () => {
		B = await launchIn(C.nsB);
		return true;
	}))) return;
	diag(`chromium ${A.version()}`);

	// ---- A: the captive face ------------------------------------------------
	const ctxA = await A.newContext({ viewport: MOBILE, locale: 'en-US', isMobile: true, hasTouch: true });
	ctxA.setDefaultTimeout(C.timeout);
	const pa = await ctxA.newPage();
	watch(pa, 'captive', st);

	const captiveUp = await check(`s1 opens http://any-name.test/some/path and lands on the captive page ${C.captive}`, async () => {
		await pa.goto('http://any-name.test/some/path', { waitUntil: 'load' });
		return pa.url() === C.captive || `landed on ${pa.url()}`;
	});
	await gated(captiveUp, 'captive page: #state says data-state="pending"', async () => {
		await pa.waitForSelector('#state[data-state="pending"]', { state: 'attached' });
		return true;
	});
	await shot(pa, 'captive-en');
	await gated(captiveUp, 'captive page: #lang-ja switches to Japanese', async () => {
		await Promise.all([pa.waitForEvent('load'), pa.click('#lang-ja')]);
		await pa.waitForFunction((re) => new RegExp(re, 'u').test(document.body.innerText), JAPANESE.source);
		return true;
	});
	await shot(pa, 'captive-ja');
	await gated(captiveUp, 'captive page: #lang-en switches back to English', async () => {
		await Promise.all([pa.waitForEvent('load'), pa.click('#lang-en')]);
		await pa.waitForFunction((re) => !new RegExp(re, 'u').test(document.querySelector('#claim-form')?.innerText ?? 'x'),
			JAPANESE.source);
		return true;
	});
	await gated(captiveUp, `captive page: the claim form (name "${CLAIM.name}", owner, kind business) is saved: #claim-saved`, async () => {
		await pa.fill('#claim-form [name="name"]', CLAIM.name);
		await pa.fill('#claim-form [name="owner"]', CLAIM.owner);
		await pa.check('#claim-form input[name="kind"][value="business"]');
		await Promise.all([pa.waitForEvent('load'), pa.click('#claim-submit')]);
		await pa.waitForSelector('#claim-saved', { state: 'visible' });
		return true;
	});
	await shot(pa, 'captive-claimed');

	// ---- B: the staff face --------------------------------------------------
	const ctxB = await B.newContext({ viewport: MOBILE, locale: 'en-US', ignoreHTTPSErrors: true });
	ctxB.setDefaultTimeout(C.timeout);
	const pb = await ctxB.newPage();
	watch(pb, 'staff', st);

	const loginPage = await check(`s2 opens ${C.staff}/ (self-signed) and is sent to /login`, async () => {
		await pb.goto(C.staff + '/', { waitUntil: 'load' });
		await pb.waitForSelector('#login-form');
		return (await pathOf(pb)) === '/login' || `landed on ${pb.url()}`;
	});
	await gated(loginPage, 'login: a wrong password shows #login-error and no session', async () => {
		await pb.fill('#login-form [name="user"]', C.user);
		await pb.fill('#login-form [name="password"]', 'not-the-password');
		await Promise.all([pb.waitForEvent('load'), pb.locator('#login-form [type="submit"]').first().click()]);
		await pb.waitForSelector('#login-error', { state: 'visible' });
		return (await pathOf(pb)) === '/login' || `now on ${pb.url()}`;
	});
	await shot(pb, 'login');
	const loggedIn = await gated(loginPage, `login as ${C.user} leads to the pending list (#pending)`, async () => {
		await pb.fill('#login-form [name="user"]', C.user);
		await pb.fill('#login-form [name="password"]', C.password);
		await Promise.all([pb.waitForURL(C.staff + '/'), pb.locator('#login-form [type="submit"]').first().click()]);
		await pb.waitForSelector('#pending', { state: 'attached' });
		return true;
	});
	await gated(loggedIn, `pending list: s1 (${C.s1}) with its claimed name "${CLAIM.name}"`, async () => {
		const li = pb.locator(sel.dev(C.s1));
		await li.waitFor({ state: 'visible' });
		const t = await li.innerText();
		return t.includes(CLAIM.name) || `s1's entry: ${JSON.stringify(t)}`;
	});
	await shot(pb, 'pending-en');

	// live: a new device becomes pending while the page is open
	await pb.evaluate(() => { window.__apgateNoReload = 'still-here'; });
	const alertsBefore = loggedIn
		? await pb.evaluate(() => Number(document.getElementById('alert-count')?.textContent || 0))
		: 0;
	await gated(loggedIn, `pending list: n3 (${C.n3}) appears by itself when it becomes pending (no reload)`, async () => {
		if (await pb.locator(sel.dev(C.n3)).count()) return 'n3 was listed before it did DHCP';
		await runHook('add-n3');
		await pb.locator(sel.dev(C.n3)).waitFor({ state: 'visible' });
		const same = await pb.evaluate(() => window.__apgateNoReload === 'still-here');
		return same || 'the page was reloaded';
	});

	// the open-alert badge in the navigation follows by itself too
	await gated(loggedIn, `the navigation's alert badge (#alert-count) counts n3's new-device alert by itself (was ${alertsBefore})`, async () => {
		try {
			await pb.waitForFunction((n) => Number(document.getElementById('alert-count')?.textContent || 0) > n,
				alertsBefore, { timeout: 10000 });
		} catch (e) {
			return `#alert-count still says ${JSON.stringify(await pb.locator('#alert-count').textContent())}`;
		}
		return (await pb.evaluate(() => window.__apgateNoReload === 'still-here')) || 'the page was reloaded';
	});

	// XSS: hostile hostname (DHCP) and claim name (captive form)
	await gated(loggedIn, `pending list: x4's hostile hostname and claim name shown as literal text, no <img> made of them`, async () => {
		const li = pb.locator(sel.dev(C.x4));
		await li.waitFor({ state: 'visible' });
		const t = await li.innerText();
		const host = C.x4Hosts.find((h) => t.includes(h));
		const imgs = await li.locator('img[src="x"], [onerror]').count();
		const bad = await pb.locator('img[src="x"], [onerror]').count();
		if (!host) return `x4's entry lacks the hostname (${C.x4Hosts.map((h) => JSON.stringify(h)).join(' or ')}): ${JSON.stringify(t)}`;
		if (!t.includes(C.x4Claim)) return `x4's entry lacks the claim name ${JSON.stringify(C.x4Claim)}: ${JSON.stringify(t)}`;
		return (imgs === 0 && bad === 0) || `elements made of the payload: ${imgs} in x4's entry, ${bad} img[src=x]/[onerror] in the page`;
	});

	await gated(loggedIn, 'pending list: #lang-ja switches to Japanese', async () => {
		await Promise.all([pb.waitForEvent('load'), pb.click('#lang-ja')]);
		await pb.waitForFunction((re) => new RegExp(re, 'u').test(document.body.innerText), JAPANESE.source);
		await pb.locator(sel.dev(C.s1)).waitFor({ state: 'visible' });
		return true;
	});
	await shot(pb, 'pending-ja');
	await gated(loggedIn, 'pending list: #lang-en switches back to English', async () => {
		await Promise.all([pb.waitForEvent('load'), pb.click('#lang-en')]);
		await pb.waitForFunction(() => !/[\u3040-\u30ff\u4e00-\u9fff]/u.test(document.querySelector('nav')?.innerText ?? 'x'));
		return true;
	});

	// CSRF: a POST with the session cookie but without the csrf field
	await gated(loggedIn, `CSRF: fetch POST /device/${C.n3}/approve without csrf (session cookie sent) is refused with 403`, async () => {
		const code = await pb.evaluate(async (mac) => {
			const r = await fetch(`/device/${mac}/approve`, {
				method: 'POST',
				credentials: 'same-origin',
				redirect: 'manual',
				headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
				body: 'as=business',
			});
			return r.status;
		}, C.n3);
		return code === 403 || `status ${code}`;
	});
	await gated(loggedIn, 'CSRF: n3 is still in the pending list after a reload', async () => {
		await pb.reload({ waitUntil: 'load' });
		await pb.locator(sel.dev(C.n3)).waitFor({ state: 'visible' });
		return true;
	});

	// approve s1 as business
	const approved = await gated(loggedIn, 'click s1\'s button.approve-business: s1 leaves the pending list', async () => {
		await clickConfirmed(pb, st, pb.locator(`${sel.dev(C.s1)} button.approve-business`));
		await pb.locator(sel.dev(C.s1)).waitFor({ state: 'detached' });
		await pb.waitForSelector('#pending', { state: 'attached' });
		return true;
	});
	diag(`confirm() dialogs accepted: ${st.confirms}`);
	await gated(loggedIn, 'n3 and x4 are still pending after s1 was approved', async () => {
		await pb.locator(sel.dev(C.n3)).waitFor({ state: 'visible' });
		await pb.locator(sel.dev(C.x4)).waitFor({ state: 'visible' });
		return true;
	});

	// A follows by itself
	await gated(captiveUp && approved, 'captive page of s1 turns to data-state="approved" by itself', async () => {
		await pa.waitForSelector('#state[data-state="approved"]', { state: 'attached', timeout: 30000 });
		return true;
	});
	await shot(pa, 'captive-approved');
	await gated(approved, `s1's next request to http://${C.inet}/ gets the internet host's page ("internet-ok")`, async () => {
		let last = '';
		for (let i = 0; i < 20; i++) {
			try {
				const r = await pa.goto(`http://${C.inet}/`, { waitUntil: 'load', timeout: 5000 });
				last = `${r ? r.status() : '-'} ${pa.url()} ${JSON.stringify((await pa.innerText('body')).slice(0, 120))}`;
				if ((await pa.innerText('body')).trim() === 'internet-ok') return true;
			} catch (e) {
				last = e.message.split('\n')[0];
			}
			await pa.waitForTimeout(250);
		}
		return `last answer: ${last}`;
	});

	// ---- the rest of the staff face, desktop size ----------------------------
	await pb.setViewportSize(DESKTOP);
	await gated(loggedIn, 'devices inventory (#devices) lists s1 and has the SVG charts #chart-type and #chart-zone', async () => {
		await pb.goto(C.staff + '/devices', { waitUntil: 'load' });
		await pb.waitForSelector('#devices', { state: 'attached' });
		const t = await pb.innerText('#devices');
		const svg = async (id) => pb.locator(id).evaluate((e) => e.tagName.toLowerCase() === 'svg' || !!e.querySelector('svg'));
		const charts = [await svg('#chart-type'), await svg('#chart-zone')];
		if (!t.toLowerCase().includes(C.s1) && !t.includes(CLAIM.name)) return `s1 not in #devices: ${JSON.stringify(t.slice(0, 300))}`;
		return (charts[0] && charts[1]) || `charts with SVG: type ${charts[0]}, zone ${charts[1]}`;
	});
	await shot(pb, 'devices', true);
	await gated(loggedIn, `device detail /device/${C.x4}: #device shows the hostile texts literally, #history present, no <img src=x>`, async () => {
		await pb.goto(`${C.staff}/device/${C.x4}`, { waitUntil: 'load' });
		await pb.waitForSelector('#device', { state: 'attached' });
		await pb.waitForSelector('#history', { state: 'attached' });
		const t = await pb.innerText('#device');
		const host = C.x4Hosts.find((h) => t.includes(h));
		if (!host) return `#device lacks the hostname: ${JSON.stringify(t.slice(0, 400))}`;
		if (!t.includes(C.x4Claim)) return `#device lacks the claim name: ${JSON.stringify(t.slice(0, 400))}`;
		const bad = await pb.locator('img[src="x"], [onerror]').count();
		return bad === 0 || `${bad} img[src=x]/[onerror] elements in the page`;
	});
	await shot(pb, 'device-detail', true);
	await gated(loggedIn, `audit log (#audit) shows ${C.user}'s approval of s1`, async () => {
		await pb.goto(C.staff + '/audit', { waitUntil: 'load' });
		await pb.waitForSelector('#audit', { state: 'attached' });
		const t = await pb.innerText('#audit');
		const aboutS1 = t.toLowerCase().includes(C.s1) || t.includes(CLAIM.name);
		return (aboutS1 && t.includes(C.user)) || `#audit: ${JSON.stringify(t.slice(0, 400))}`;
	});
	await shot(pb, 'audit', true);
	await gated(loggedIn, 'alerts (#alerts) lists the new-device alerts, newest first, with a link to each device', async () => {
		await pb.goto(C.staff + '/alerts', { waitUntil: 'load' });
		await pb.waitForSelector('#alerts', { state: 'attached' });
		const ids = await pb.locator('li.alert').evaluateAll((els) => els.map((e) => Number(e.dataset.id)));
		const sorted = ids.length > 0 && ids.every((v, i) => i === 0 || ids[i - 1] > v);
		const links = await pb.locator('li.alert a.alert-device').count();
		return (sorted && links > 0) || `ids ${JSON.stringify(ids)}, ${links} device links`;
	});
	await shot(pb, 'alerts', true);
	await gated(loggedIn, 'printable inventory: printed, the navigation is hidden and the table and counts show', async () => {
		await pb.goto(C.staff + '/inventory/print', { waitUntil: 'load' });
		await pb.emulateMedia({ media: 'print' });
		const bar = await pb.locator('header.bar').evaluate((e) => getComputedStyle(e).display);
		const table = await pb.locator('#inventory').isVisible();
		const counts = await pb.locator('#count-type').isVisible() && await pb.locator('#count-zone').isVisible();
		const t = await pb.innerText('#inventory');
		await shot(pb, 'inventory-print', true);
		await pb.emulateMedia({ media: 'screen' });
		if (!t.toLowerCase().includes(C.s1)) return `s1 not in #inventory: ${JSON.stringify(t.slice(0, 300))}`;
		return (bar === 'none' && table && counts) || `header display ${bar}, table ${table}, counts ${counts}`;
	});

	await check('no dialog (alert/prompt/unexpected confirm) opened on any page', async () =>
		st.dialogs.length === 0 || st.dialogs.join('\n'));
	await check('no uncaught script error on any page', async () =>
		st.errors.length === 0 || st.errors.join('\n'));
	if (st.console.length) diag('console errors (information):\n' + st.console.slice(0, 20).join('\n'));
}

const hardStop = setTimeout(() => {
	console.log('not ok - portal_e2e.mjs finished within 240 s');
	process.exit(1);
}, 240000);
try {
	await main();
} catch (e) {
	result(false, 'portal_e2e.mjs ran to its end', String(e && e.stack ? e.stack : e));
} finally {
	for (const b of browsers) await b.close().catch(() => {});
	clearTimeout(hardStop);
}
process.exit(failed ? 1 : 0);
