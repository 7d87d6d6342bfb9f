// An independent OPC UA server (node-opcua) that Minebrain's Go tests talk to, so the
// client is checked against an implementation other than gopcua's own server.
// Started by internal/opcuapeer; see `node server.mjs --help`.

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import {
    OPCUAServer,
    OPCUACertificateManager,
    MessageSecurityMode,
    SecurityPolicy,
    DataType,
    DataValue,
    Variant,
    StatusCodes,
    AccessLevelFlag,
    standardUnits,
    makeRoles,
    WellKnownRoles,
    Subscription,
    MonitoredItem,
    MonitoringMode,
} from "node-opcua";

// node-opcua caps every publish response at 1000 data changes whatever the client asks;
// a client that wants to be measured above that (the 10,000-item bench) needs more room.
Subscription.maxNotificationPerPublishHighLimit = 20000;

const NAMESPACE_URI = "urn:minebrain:testpeer";
const USER = "operator";
const PASSWORD = "s3cret-Pa55";

const usage = `usage: node server.mjs --port N [--pki DIR] [--new-cert] [--only-secure]
       [--no-anonymous] [--bulk N] [--bulk-interval MS] [--omit Plant.Pump2.PressureBar]...`;

function fail(msg) {
    process.stderr.write(`${msg}\n${usage}\n`);
    process.exit(2);
}

let args;
try {
    ({ values: args } = parseArgs({
        options: {
            port: { type: "string" },
            pki: { type: "string" },
            "new-cert": { type: "boolean", default: false },
            "only-secure": { type: "boolean", default: false },
            "no-anonymous": { type: "boolean", default: false },
            bulk: { type: "string", default: "0" },
            "bulk-interval": { type: "string", default: "100" },
            omit: { type: "string", multiple: true, default: [] },
            help: { type: "boolean", default: false },
        },
        strict: true,
    }));
} catch (err) {
    fail(err.message);
}
if (args.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
}
const port = Number(args.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) fail("--port N is required");
const bulk = Number(args.bulk);
const bulkInterval = Number(args["bulk-interval"]);
if (!Number.isInteger(bulk) || bulk < 0) fail("--bulk must be a non-negative integer");
if (!(bulkInterval > 0)) fail("--bulk-interval must be positive");
const omit = new Set(args.omit);
const pkiDir = path.resolve(args.pki ?? path.join(process.cwd(), "pki"));

// --new-cert: remove the key pair so the certificate manager and the server create a
// new one; otherwise the existing pair is reused, which tests rely on across restarts.
if (args["new-cert"]) {
    for (const f of ["own/certs/certificate.pem", "own/private/private_key.pem"]) {
        fs.rmSync(path.join(pkiDir, f), { force: true });
    }
}

const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: pkiDir,
    automaticallyAcceptUnknownCertificate: true,
    // no chokidar watchers: nothing edits the PKI at run time and they slow startup
    disableFileWatchers: true,
});

// X.509 user tokens are judged by their own trust list; accepting any lets a client's
// certificate login be tested without a provisioning step.
const userCertificateManager = new OPCUACertificateManager({
    rootFolder: path.join(pkiDir, "users"),
    automaticallyAcceptUnknownCertificate: true,
    disableFileWatchers: true,
});

const policies = [
    SecurityPolicy.Basic256Sha256,
    SecurityPolicy.Aes128_Sha256_RsaOaep,
    SecurityPolicy.Aes256_Sha256_RsaPss,
];
const modes = [MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt];
if (!args["only-secure"]) {
    policies.unshift(SecurityPolicy.None);
    modes.unshift(MessageSecurityMode.None);
}

const server = new OPCUAServer({
    port,
    host: "127.0.0.1", // listen on loopback only
    hostname: "127.0.0.1", // and advertise that address in the endpoint URLs
    resourcePath: "",
    serverCertificateManager,
    userCertificateManager,
    // node-opcua only pairs the None policy with the None mode and vice versa
    securityPolicies: policies,
    securityModes: modes,
    allowAnonymous: !args["no-anonymous"],
    // disableDiscovery would also drop the hidden None endpoint that --only-secure still
    // needs for GetEndpoints over an unsecured channel, so it stays off
    serverInfo: {
        applicationUri: "urn:minebrain:testpeer:server",
        productUri: "urn:minebrain:testpeer",
        applicationName: { text: "Minebrain test peer", locale: "en" },
    },
    userManager: {
        isValidUser: (username, password) => username === USER && password === PASSWORD,
        getUserRoles: (username) =>
            username === USER ? makeRoles([WellKnownRoles.AuthenticatedUser, WellKnownRoles.Operator]) : [],
    },
    serverCapabilities: {
        maxBrowseContinuationPoints: 10,
        operationLimits: {
            maxNodesPerRead: 1000,
            maxNodesPerWrite: 1000,
            maxNodesPerBrowse: 500,
            maxMonitoredItemsPerCall: 1000,
            maxNodesPerMethodCall: 100,
            maxNodesPerTranslateBrowsePathsToNodeIds: 500,
        },
    },
});

await server.initialize();

const addressSpace = server.engine.addressSpace;
const ns = addressSpace.registerNamespace(NAMESPACE_URI);
const objects = addressSpace.rootFolder.objects;

const plant = ns.addFolder(objects, { browseName: "Plant", nodeId: "s=Plant" });

// Every simulated value is a plain variable updated from a timer, so subscriptions are
// driven by value changes rather than by polling a getter.
const setters = [];

function buildPump(name, phase) {
    const id = `Plant.${name}`;
    const pump = ns.addObject({ organizedBy: plant, browseName: name, nodeId: `s=${id}` });
    const want = (signal) => !omit.has(`${id}.${signal}`);
    const state = { speed: 50 + phase * 10, mode: 1 };

    const analog = (signal, units, low, high) =>
        want(signal) &&
        ns.addAnalogDataItem({
            componentOf: pump,
            browseName: signal,
            nodeId: `s=${id}.${signal}`,
            dataType: "Double",
            engineeringUnits: units,
            engineeringUnitsRange: { low, high },
            value: new Variant({ dataType: DataType.Double, value: 0 }),
        });
    const plain = (signal, dataType, value, writable = false) =>
        want(signal) &&
        ns.addVariable({
            componentOf: pump,
            browseName: signal,
            nodeId: `s=${id}.${signal}`,
            dataType,
            accessLevel: writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
            userAccessLevel: writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
            value: new Variant({ dataType: DataType[dataType], value }),
        });

    const flow = analog("FlowM3h", standardUnits.cubic_metre_per_hour, 0, 500);
    const pressure = analog("PressureBar", standardUnits.bar, 0, 16);
    const running = plain("Running", "Boolean", true);
    const speed = plain("SpeedSP", "Double", state.speed, true);
    const mode = plain("Mode", "Int32", state.mode);
    const status = plain("Status", "String", "running");

    const set = (v, dataType, value) => v && v.setValueFromSource(new Variant({ dataType, value }));
    setters.push((t) => {
        // the setpoint scales the flow, so a write is visible in the process values
        const sp = speed ? speed.readValue().value.value : state.speed;
        const s = Math.sin(t / 2000 + phase);
        set(flow, DataType.Double, (sp / 100) * (250 + 100 * s));
        set(pressure, DataType.Double, 6 + 2 * s);
        const on = Math.floor(t / 10000 + phase) % 6 !== 5; // stops for 10 s every minute
        set(running, DataType.Boolean, on);
        set(status, DataType.String, on ? "running" : "stopped");
        set(mode, DataType.Int32, on ? 1 : 0);
    });
    return pump;
}

const pump1 = buildPump("Pump1", 0);
buildPump("Pump2", 1);

const add = ns.addMethod(pump1, {
    browseName: "Add",
    nodeId: "s=Plant.Pump1.Add",
    inputArguments: [
        { name: "a", dataType: DataType.Double, description: { text: "first addend" } },
        { name: "b", dataType: DataType.Double, description: { text: "second addend" } },
    ],
    outputArguments: [{ name: "sum", dataType: DataType.Double, description: { text: "a + b" } }],
});
// node-opcua tells promise methods from callback ones by arity, so `_context` must stay
add.bindMethod(async (inputArguments, _context) => ({
    statusCode: StatusCodes.Good,
    outputArguments: [{ dataType: DataType.Double, value: inputArguments[0].value + inputArguments[1].value }],
}));

const plantTimer = setInterval(() => {
    const t = Date.now();
    for (const s of setters) s(t);
}, 100);

// Bulk: groups of 100 variables per object, all changed by one timer in one pass.
//
// node-opcua's own sampling cannot carry 10,000 items at 5-10 Hz: every sample is a
// setImmediate and a readValueAsync that walks the role-permission checks (~45% of a core
// at 10,000 x 5 Hz), its common setInterval drifts late under load, and a sampler that is
// not in step with the writer skips or repeats ticks, which a client sees as lost updates.
// So the monitored items on bulk variables are sampled by the bulk timer itself, right
// after each update: one recorded value per item per tick, no gaps by construction. An
// item whose sampling interval is a multiple of the update interval is sampled every that
// many ticks. Exception-based items (sampling 0) get the value_changed event as usual.
const bulkVars = [];
let bulkTimer;
if (bulk > 0) {
    const folder = ns.addFolder(objects, { browseName: "Bulk", nodeId: "s=Bulk" });
    for (let g = 0; g * 100 < bulk; g++) {
        const gname = `G${String(g).padStart(3, "0")}`;
        const group = ns.addObject({ organizedBy: folder, browseName: gname, nodeId: `s=Bulk.${gname}` });
        for (let i = 0; i < 100 && g * 100 + i < bulk; i++) {
            const vname = `V${String(i).padStart(2, "0")}`;
            bulkVars.push(
                ns.addVariable({
                    componentOf: group,
                    browseName: vname,
                    nodeId: `s=Bulk.${gname}.${vname}`,
                    dataType: "Double",
                    value: new Variant({ dataType: DataType.Double, value: 0 }),
                }),
            );
        }
    }

    // the monitored items on bulk variables that are sampled by the bulk timer
    const isBulk = new Set(bulkVars);
    const sampled = new Set();
    const setTimer = MonitoredItem.prototype._set_timer;
    const clearTimer = MonitoredItem.prototype._clear_timer;
    MonitoredItem.prototype._set_timer = function () {
        if (!this.itemToMonitor || !isBulk.has(this.node)) return setTimer.call(this);
        this._samplingId = "bulk"; // what MonitoredItem#isSampling looks at
        sampled.add(this);
    };
    MonitoredItem.prototype._clear_timer = function () {
        if (this._samplingId !== "bulk") return clearTimer.call(this);
        sampled.delete(this);
        this._samplingId = undefined;
    };

    // `new Variant()` / `new DataValue()` without options take node-opcua's cheap path (the
    // one its decoders use); the options path costs ~4x, a third of the pass at 10,000 values.
    // A DataValue is never changed once made: the monitored items' queues keep it.
    const makeValue = (value, now) => {
        const variant = new Variant();
        variant.dataType = DataType.Double;
        variant.value = value;
        const dv = new DataValue();
        dv.value = variant;
        dv.sourceTimestamp = now;
        dv.serverTimestamp = now;
        return dv;
    };

    let tick = 0;
    let slowTicks = 0;
    let slowWarned = false;
    let due = performance.now() + bulkInterval;
    const update = () => {
        tick++;
        const now = new Date();
        const t0 = performance.now();
        for (let k = 0; k < bulkVars.length; k++) {
            const v = bulkVars[k];
            // a ramp offset per variable: every tick changes every value
            const dv = makeValue(tick + k / 10000, now);
            v.$dataValue = dv; // what Read answers; no clone, no checks: the value is ours
            if (v.listenerCount("value_changed") > 0) v.emit("value_changed", dv);
        }
        for (const item of sampled) {
            if (item.monitoringMode === MonitoringMode.Disabled) continue;
            const every = Math.max(1, Math.round(item.samplingInterval / bulkInterval));
            if (tick % every === 0) item._on_value_changed(item.node.$dataValue);
        }
        const took = performance.now() - t0;
        // say so once when the pass cannot keep up, so a test author knows the rate is lower
        slowTicks = took > bulkInterval * 0.8 ? slowTicks + 1 : 0;
        if (!slowWarned && slowTicks >= 5) {
            slowWarned = true;
            process.stderr.write(`testpeer: bulk update of ${bulkVars.length} values takes ${took.toFixed(0)} ms, interval ${bulkInterval} ms\n`);
        }
        if (process.env.TESTPEER_BULK_TIMING && tick % 50 === 0) {
            process.stderr.write(`testpeer: bulk pass ${took.toFixed(1)} ms, ${sampled.size} items sampled\n`);
        }
        // on a fixed grid rather than setInterval, which slips by the event loop's lateness
        // every tick; when late, the next tick comes at once but still counts up by one
        due += bulkInterval;
        const pn = performance.now();
        if (due < pn) due = pn;
        bulkTimer = setTimeout(update, due - pn);
    };
    bulkTimer = setTimeout(update, bulkInterval);
}

// Stats/MonitoredItems: the monitored items of every session's subscriptions, so a test can
// check from outside that a reconnecting client creates each item exactly once.
const stats = ns.addFolder(objects, { browseName: "Stats", nodeId: "s=Stats" });
ns.addVariable({
    componentOf: stats,
    browseName: "MonitoredItems",
    nodeId: "s=Stats.MonitoredItems",
    dataType: "UInt32",
    value: {
        get: () => {
            let n = 0;
            for (const session of server.engine.getSessions()) {
                for (const sub of session.publishEngine.subscriptions) n += sub.monitoredItemCount;
            }
            return new Variant({ dataType: DataType.UInt32, value: n });
        },
    },
});

await server.start();
process.stdout.write(`READY opc.tcp://127.0.0.1:${port}\n`);

let stopping = false;
async function shutdown(signal) {
    if (stopping) return;
    stopping = true;
    clearInterval(plantTimer);
    if (bulkTimer) clearTimeout(bulkTimer);
    process.stderr.write(`testpeer: ${signal}, shutting down\n`);
    try {
        await server.shutdown(0);
    } finally {
        process.exit(0);
    }
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
