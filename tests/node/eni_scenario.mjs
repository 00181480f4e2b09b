// The ENI scenario through Alibaba's official Node.js SDKs (ECS 2014-05-26 7.x and VPC
// 2016-04-28, ACS3 signatures): a VPC, a vSwitch, a group, an instance, a secondary ENI
// attached, given addresses, described, detached and deleted, every answer read through the
// SDK's typed models. Usage: node eni_scenario.mjs HOST:PORT ACCESS_KEY_ID SECRET.
// Prints one line per step and exits non-zero on the first failure.
import Ecs, * as ecs from '@alicloud/ecs20140526';
import Vpc, * as vpc from '@alicloud/vpc20160428';
import * as OpenApi from '@alicloud/openapi-client';

const [endpoint, ak, secret] = process.argv.slice(2);
const config = (product) => new OpenApi.Config({
  accessKeyId: ak, accessKeySecret: secret, endpoint, protocol: 'http', regionId: 'cn-hangzhou',
});
const EcsClient = Ecs.default ?? Ecs;
const VpcClient = Vpc.default ?? Vpc;
const E = new EcsClient(config('ecs'));
const V = new VpcClient(config('vpc'));
const R = 'cn-hangzhou';

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

async function until(what, f) {
  for (let i = 0; i < 100; i++) {
    if (await f()) { console.log(`ok: ${what}`); return; }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out: ${what}`);
}

async function eniStatus(id) {
  const r = await E.describeNetworkInterfaces(new ecs.DescribeNetworkInterfacesRequest({
    regionId: R, networkInterfaceId: [id] }));
  const set = r.body.networkInterfaceSets.networkInterfaceSet;
  return set.length ? set[0].status : null;
}

const vpcId = (await V.createVpc(new vpc.CreateVpcRequest({ regionId: R, cidrBlock: '10.60.0.0/16' }))).body.vpcId;
check(vpcId.startsWith('vpc-'), 'CreateVpc');
const attr = (await V.describeVpcAttribute(new vpc.DescribeVpcAttributeRequest({ regionId: R, vpcId }))).body;
check(attr.status === 'Available' && attr.cidrBlock === '10.60.0.0/16', 'DescribeVpcAttribute');
const vswId = (await V.createVSwitch(new vpc.CreateVSwitchRequest({
  regionId: R, vpcId, zoneId: 'cn-hangzhou-h', cidrBlock: '10.60.1.0/24' }))).body.vSwitchId;
check(vswId.startsWith('vsw-'), 'CreateVSwitch');
const sg = (await E.createSecurityGroup(new ecs.CreateSecurityGroupRequest({ regionId: R, vpcId }))).body.securityGroupId;
check(sg.startsWith('sg-'), 'CreateSecurityGroup');
const run = (await E.runInstances(new ecs.RunInstancesRequest({
  regionId: R, instanceType: 'ecs.g7.large', vSwitchId: vswId, securityGroupIds: [sg], amount: 1 }))).body;
const inst = run.instanceIdSets.instanceIdSet[0];
check(inst.startsWith('i-'), 'RunInstances');
await until('instance Running', async () => {
  const d = await E.describeInstances(new ecs.DescribeInstancesRequest({ regionId: R, instanceIds: JSON.stringify([inst]) }));
  return d.body.instances.instance[0]?.status === 'Running';
});
const created = (await E.createNetworkInterface(new ecs.CreateNetworkInterfaceRequest({
  regionId: R, vSwitchId: vswId, securityGroupId: sg, networkInterfaceName: 'node-eni' }))).body;
const eni = created.networkInterfaceId;
check(eni.startsWith('eni-') && created.privateIpAddress.startsWith('10.60.1.'), 'CreateNetworkInterface');
await until('ENI Available', async () => (await eniStatus(eni)) === 'Available');
await E.attachNetworkInterface(new ecs.AttachNetworkInterfaceRequest({ regionId: R, networkInterfaceId: eni, instanceId: inst }));
await until('ENI InUse', async () => (await eniStatus(eni)) === 'InUse');
const assigned = (await E.assignPrivateIpAddresses(new ecs.AssignPrivateIpAddressesRequest({
  regionId: R, networkInterfaceId: eni, secondaryPrivateIpAddressCount: 2 }))).body;
const ips = assigned.assignedPrivateIpAddressesSet.privateIpSet.privateIpAddress;
check(ips.length === 2, 'AssignPrivateIpAddresses');
const a = (await E.describeNetworkInterfaceAttribute(new ecs.DescribeNetworkInterfaceAttributeRequest({
  regionId: R, networkInterfaceId: eni }))).body;
const sets = a.privateIpSets.privateIpSet;
check(sets.length === 3 && sets.filter((s) => s.primary === true).length === 1, 'DescribeNetworkInterfaceAttribute');
check(a.instanceId === inst && a.securityGroupIds.securityGroupId[0] === sg, 'attachment and group');
await E.unassignPrivateIpAddresses(new ecs.UnassignPrivateIpAddressesRequest({
  regionId: R, networkInterfaceId: eni, privateIpAddress: ips }));
await E.detachNetworkInterface(new ecs.DetachNetworkInterfaceRequest({ regionId: R, networkInterfaceId: eni, instanceId: inst }));
await until('ENI Available again', async () => (await eniStatus(eni)) === 'Available');
await E.deleteNetworkInterface(new ecs.DeleteNetworkInterfaceRequest({ regionId: R, networkInterfaceId: eni }));
await until('ENI gone', async () => (await eniStatus(eni)) === null);
try {
  await E.describeNetworkInterfaceAttribute(new ecs.DescribeNetworkInterfaceAttributeRequest({ regionId: R, networkInterfaceId: eni }));
  throw new Error('a deleted ENI was found');
} catch (e) {
  check(e.code === 'InvalidEniId.NotFound' && e.statusCode === 404, 'a deleted ENI is a 404');
}
await E.deleteInstance(new ecs.DeleteInstanceRequest({ instanceId: inst, force: true }));
await until('instance gone', async () => {
  const d = await E.describeInstances(new ecs.DescribeInstancesRequest({ regionId: R, instanceIds: JSON.stringify([inst]) }));
  return d.body.instances.instance.length === 0;
});
await E.deleteSecurityGroup(new ecs.DeleteSecurityGroupRequest({ regionId: R, securityGroupId: sg }));
await V.deleteVSwitch(new vpc.DeleteVSwitchRequest({ regionId: R, vSwitchId: vswId }));
await V.deleteVpc(new vpc.DeleteVpcRequest({ regionId: R, vpcId }));
check(true, 'cleaned up');
console.log('SCENARIO PASSED');
