// A mesh node's ID: another router's name for itself, chosen by that router.
export type NodeId = string;
