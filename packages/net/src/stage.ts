// The network stage of the pipeline: the record joins the container's named network
// namespace, and carries its address for the stages after it (/etc/hosts).
import { ANNOTATION, setNamespace, type ContainerRecord } from '@diyc/record';
import { attach, type AttachOptions, type Attachment } from './attach.js';
import type { NetConfig } from './config.js';

export function netStage(record: ContainerRecord, config: NetConfig, name: string, options: AttachOptions = {}): { record: ContainerRecord; attachment: Attachment } {
  const attachment = attach(config, name, options);
  const next = structuredClone(record);
  setNamespace(next, 'network', attachment.netnsPath);
  next.annotations[ANNOTATION.ip] = attachment.ip;
  next.annotations[ANNOTATION.gateway] = attachment.gateway;
  next.annotations[ANNOTATION.bridge] = config.bridge;
  next.annotations[ANNOTATION.netns] = attachment.netns;
  if (attachment.published.length > 0) next.annotations[ANNOTATION.publish] = attachment.published.join(',');
  return { record: next, attachment };
}

