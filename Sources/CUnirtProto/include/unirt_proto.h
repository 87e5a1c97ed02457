/* Generated protobuf-c code for Protos/unirt/v1 goes here (scripts/gen-protos.sh). */
int unirt_proto_placeholder(void);
